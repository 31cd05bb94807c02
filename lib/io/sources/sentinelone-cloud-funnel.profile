# SentinelOne Cloud Funnel (Deep Visibility) records -> ECS, as
# elastic/integrations packages/sentinel_one_cloud_funnel maps them. Records
# use flat dotted keys ("src.process.name"), including a flat "event.category"
# that is SentinelOne's own, not ECS's: detection looks at meta.event.name.
profile sentinelone-cloud-funnel
detect meta.event.name exists
detect src.process.uid exists or agent.uuid exists or dataSource.name exists

set event.kind event
time event.time @timestamp epoch_millis||strict_date_optional_time
copy event.id event.id
copy group.id group.id
copy endpoint.name host.hostname
copy agent.uuid host.id
copy os.name host.os.name
copy endpoint.os host.os.platform
when endpoint.os in [linux windows macos ios android]
  copy endpoint.os host.os.type
end
copy endpoint.type host.type
append related.hosts endpoint.name
append related.hosts endpoint.os
append related.hosts endpoint.type

# The source process acts (it is the parent of a created process).
copy src.process.cmdline process.command_line
copy src.process.image.path process.executable
copy src.process.image.md5 process.hash.md5
copy src.process.image.sha1 process.hash.sha1
copy src.process.image.sha256 process.hash.sha256
copy src.process.name process.name
int src.process.pid process.pid
copy src.process.uid process.entity_id
time src.process.startTime process.start epoch_millis||strict_date_optional_time
copy src.process.displayName process.title
copy src.process.user process.user.name
copy src.process.parent.cmdline process.parent.command_line
copy src.process.parent.image.path process.parent.executable
copy src.process.parent.image.md5 process.parent.hash.md5
copy src.process.parent.image.sha1 process.parent.hash.sha1
copy src.process.parent.image.sha256 process.parent.hash.sha256
copy src.process.parent.name process.parent.name
int src.process.parent.pid process.parent.pid
copy src.process.parent.uid process.parent.entity_id
time src.process.parent.startTime process.parent.start epoch_millis||strict_date_optional_time
copy src.process.parent.displayName process.parent.title
copy src.process.parent.user process.parent.user.name
user src.process.user user.domain user.name
append related.user src.process.user
append related.user src.process.parent.user
append related.user tgt.process.user

table categories
  process event.category=[process]
  file event.category=[file]
  ip event.category=[network]
  dns event.category=[network]
  url event.category=[network]
  registry event.category=[registry configuration]
  module event.category=[library]
  logins event.category=[authentication]
  scheduled_task event.category=[process]
  command_script event.category=[process]
  cross_process event.category=[process]
  indicators event.category=[threat]
end
lookup event.category categories
copy event.type event.action

# A created process: the target process becomes process.*, the source its parent.
# Elastic's pipeline renames process to process.parent; here the copies below
# do it field by field: every process.* field written above comes from a
# src.process.* field that they copy again (a `copy $process process.parent`
# would scan every field written so far, for nothing). An op added above that
# writes another process.* field needs its own line below.
when meta.event.name == PROCESSCREATION
  set event.category [process]
  set event.type [start]
  set event.action [start]
  copy src.process.parent.cmdline process.parent.command_line
  copy src.process.cmdline process.parent.command_line
  copy src.process.image.path process.parent.executable
  copy src.process.image.md5 process.parent.hash.md5
  copy src.process.image.sha1 process.parent.hash.sha1
  copy src.process.image.sha256 process.parent.hash.sha256
  copy src.process.name process.parent.name
  int src.process.pid process.parent.pid
  copy src.process.uid process.parent.entity_id
  time src.process.startTime process.parent.start epoch_millis||strict_date_optional_time
  copy src.process.displayName process.parent.title
  copy src.process.user process.parent.user.name
  copy src.process.publisher process.parent.code_signature.subject_name
  when src.process.signedStatus == signed
    set process.parent.code_signature.exists true
  else
    set process.parent.code_signature.exists false
  end
  when src.process.verifiedStatus == verified
    set process.parent.code_signature.trusted true
  else
    set process.parent.code_signature.trusted false
  end
  copy tgt.process.name process.name
  copy tgt.process.image.path process.executable
  int tgt.process.pid process.pid
  copy tgt.process.uid process.entity_id
  copy tgt.process.cmdline process.command_line
  copy tgt.process.image.md5 process.hash.md5
  copy tgt.process.image.sha1 process.hash.sha1
  copy tgt.process.image.sha256 process.hash.sha256
  time tgt.process.startTime process.start epoch_millis||strict_date_optional_time
  copy tgt.process.displayName process.title
  copy tgt.process.user process.user.name
end
when event.type in [ProcessExit ProcessTermination]
  set event.type [end]
end
args $process.command_line process.args
args $process.parent.command_line process.parent.args

# Files, network, DNS, registry.
copy tgt.file.path file.path
basename $file.path file.name
extension $file.path file.extension
copy tgt.file.sha1 file.hash.sha1
copy tgt.file.sha256 file.hash.sha256
copy tgt.file.md5 file.hash.md5
copy src.ip.address source.ip
int src.port.number source.port
copy dst.ip.address destination.ip
int dst.port.number destination.port
copy event.network.direction network.direction
lower $network.direction network.direction
copy event.dns.request dns.question.name
copy registry.keyPath registry.path
copy registry.value registry.data.strings
copy url.address url.original
append related.hash $process.hash.md5
append related.hash $process.hash.sha1
append related.hash $process.hash.sha256
append related.hash $process.parent.hash.md5
append related.hash $process.parent.hash.sha1
append related.hash $process.parent.hash.sha256
