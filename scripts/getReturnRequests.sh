#!/bin/sh
# HostFactory runs this as `getReturnRequests.sh -f <input file>`; _run-client.sh beside it does the work,
# read into this shell rather than started as another (every process costs HostFactory's call).
set -- getReturnRequests "$@"
case $0 in */*) . "${0%/*}/_run-client.sh" ;; *) . ./_run-client.sh ;; esac
