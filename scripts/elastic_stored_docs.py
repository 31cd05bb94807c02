#!/usr/bin/env python3
"""The ECS documents Elastic's integration stores for the vendor test records,
as NDJSON on stdout: bench_sources' "plain ECS path" input for the same
records. Elastic's pipeline tests run with the tags preserve_original_event
and preserve_duplicate_custom_fields, so their expected documents hold the
raw record (event.original) and every vendor field copied into ECS as well.
An integration with its default settings drops both: this applies the
pipeline's own `remove` processors for them (read from its YAML), its
empty-value pruning, and drops the test's tags.

Usage: elastic_stored_docs.py SHARED_DIR s1|m365
"""
import json
import sys

import yaml

PACKAGES = "sources/integrations/packages"
SOURCES = {
    "s1": ("sentinel_one_cloud_funnel/data_stream/event/_dev/test/pipeline/test-process.log-expected.json",
           ["sentinel_one_cloud_funnel/data_stream/event/elasticsearch/ingest_pipeline/default.yml",
            "sentinel_one_cloud_funnel/data_stream/event/elasticsearch/ingest_pipeline/pipeline-process.yml"]),
    "m365": ("m365_defender/data_stream/event/_dev/test/pipeline/test-device.log-expected.json",
             ["m365_defender/data_stream/event/elasticsearch/ingest_pipeline/default.yml",
              "m365_defender/data_stream/event/elasticsearch/ingest_pipeline/pipeline_device.yml"]),
}


def duplicate_fields(pipeline_path):
    """Fields of the `remove` processors that run unless preserve_duplicate_custom_fields is set."""
    with open(pipeline_path) as f:
        pipeline = yaml.safe_load(f)
    fields = []
    for proc in pipeline.get("processors", []):
        remove = proc.get("remove")
        if remove and "preserve_duplicate_custom_fields" in str(remove.get("if", "")):
            field = remove["field"]
            fields += field if isinstance(field, list) else [field]
    return fields


def remove_path(doc, path):
    """Removes a dotted path, whether its segments are nested objects or dotted keys."""
    parts = path.split(".")

    def walk(obj, i):
        if not isinstance(obj, dict):
            return
        for j in range(len(parts), i, -1):
            key = ".".join(parts[i:j])
            if key in obj:
                if j == len(parts):
                    del obj[key]
                else:
                    walk(obj[key], j)

    walk(doc, 0)


def prune(obj):
    """The pipeline's last script: drops null and empty values, recursively. True: obj is now empty."""
    if obj is None or obj == "":
        return True
    if isinstance(obj, dict):
        for key in list(obj):
            if prune(obj[key]):
                del obj[key]
        return not obj
    if isinstance(obj, list):
        obj[:] = [x for x in obj if not prune(x)]
        return not obj
    return False


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in SOURCES:
        sys.exit("usage: elastic_stored_docs.py SHARED_DIR s1|m365")
    shared, source = sys.argv[1], sys.argv[2]
    expected, pipelines = SOURCES[source]
    fields = []
    for p in pipelines:
        fields += duplicate_fields(f"{shared}/{PACKAGES}/{p}")
    if not fields:
        sys.exit(f"elastic_stored_docs.py: no duplicate-field removal found in the {source} pipelines")
    with open(f"{shared}/{PACKAGES}/{expected}") as f:
        docs = json.load(f)["expected"]
    for doc in docs:
        doc.get("event", {}).pop("original", None)
        doc.pop("tags", None)
        for field in fields:
            remove_path(doc, field)
        prune(doc)
        print(json.dumps(doc, separators=(",", ":")))


if __name__ == "__main__":
    main()
