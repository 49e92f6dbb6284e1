#!/bin/sh
# HostFactory runs this as `requestReturnMachines.sh -f <input file>`; _run-client.sh beside it does the work.
exec sh "$(dirname -- "$0")/_run-client.sh" requestReturnMachines "$@"
