#!/bin/sh
# The main job: set up, build, then run the reference rule ("Unusual Parent
# Process for cmd.exe") over sample events.
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh build
E=build/cli/eqlite
echo "== eqlite check examples/rules/*.eql"
$E check examples/rules/*.eql
