# Documents that are ECS already (Elastic Defend, Elastic Agent, any pipeline's
# output) go through unchanged. The last resort of --source auto.
profile ecs
detect event.category exists or event.kind exists or ecs.version exists or @timestamp exists
passthrough
