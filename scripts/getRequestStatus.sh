#!/bin/sh
# HostFactory runs this as `getRequestStatus.sh -f <input file>`; _run-client.sh beside it does the work.
exec sh "$(dirname -- "$0")/_run-client.sh" getRequestStatus "$@"
