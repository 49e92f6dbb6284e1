#!/bin/sh
# Runs the hostfactory client for one HostFactory operation: _run-client.sh <operation> -f <file>
# (the operation scripts read it into their own shell with those arguments). stdout is the
# client's alone (one JSON document), and so is the exit code. The client's stderr is appended
# to $HF_PROVIDER_LOGDIR/hostfactory-k8s.log when HostFactory set that variable. HostFactory
# runs these for every call, so nothing here starts a process before Node: no $(...), no dirname.
set -eu

operation=$1
shift
case $0 in
*/*) here=${0%/*} ;;
*) here=. ;;
esac

# `command` keeps a failed redirection from ending the script (it would, on the special `:`).
log=${HF_PROVIDER_LOGDIR:+$HF_PROVIDER_LOGDIR/hostfactory-k8s.log}
if [ -n "$log" ] && command : 2>/dev/null >>"$log"; then
  exec 2>>"$log"
fi

# The client: $HOSTFACTORY_CLI, else what `hostfactory install` recorded beside these scripts,
# else this repository's when run from a checkout (its one-file bundle, see client/bundle.ts),
# else `hostfactory` on PATH.
# Node.js: $HOSTFACTORY_NODE, else what install recorded, else `node` on PATH.
if [ -f "$here/hostfactory-k8s.env" ]; then
  . "$here/hostfactory-k8s.env"
fi
if [ -z "${HOSTFACTORY_CLI:-}" ] && [ -f "$here/../client/gen/hostfactory.cjs" ]; then
  HOSTFACTORY_CLI=$here/../client/gen/hostfactory.cjs
fi
if [ -z "${HOSTFACTORY_CLI:-}" ]; then
  HOSTFACTORY_CLI=$(command -v hostfactory || true)
fi
node=${HOSTFACTORY_NODE:-node}

# Node's compile cache keeps the client compiled between calls (V8's code cache), which saves
# part of every call. It lives in a folder of the user HostFactory runs as, never in a
# shared temporary one.
if [ -z "${NODE_COMPILE_CACHE:-}" ]; then
  if [ -n "${HF_PROVIDER_WORKDIR:-}" ]; then
    export NODE_COMPILE_CACHE="$HF_PROVIDER_WORKDIR/node-compile-cache"
  elif [ -n "${HOME:-}" ]; then
    export NODE_COMPILE_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/hostfactory-k8s/node-compile-cache"
  fi
fi

# Like the client's own failures: a message on stdout for HostFactory, details in the log, and
# exit code 2 (a setup problem that retrying will not fix).
fail() {
  printf '{"message": "%s"}\n' "$1"
  printf '%s hostfactory %s[%s] error: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$operation" "$$" "$2" >&2
  exit 2
}
if [ -z "$HOSTFACTORY_CLI" ]; then
  fail "cannot find the hostfactory client" "set HOSTFACTORY_CLI, run hostfactory install, or put hostfactory on PATH (scripts in $here)"
fi
# Not Deno: it starts the client about twice as slowly as Node.js, on every HostFactory call.
case ${node##*/} in
deno*) fail "the scripts run the client on Node.js, not Deno" "HOSTFACTORY_NODE is $node; set it to a Node.js >= 22.18 binary" ;;
esac
if ! command -v "$node" >/dev/null 2>&1; then
  fail "cannot find Node.js" "no $node; set HOSTFACTORY_NODE to a Node.js >= 22.18 binary"
fi
exec "$node" "$HOSTFACTORY_CLI" "$operation" "$@"
