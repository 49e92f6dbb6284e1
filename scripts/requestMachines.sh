#!/bin/sh
# HostFactory runs this as `requestMachines.sh -f <input file>`; _run-client.sh beside it does the work.
exec sh "$(dirname -- "$0")/_run-client.sh" requestMachines "$@"
