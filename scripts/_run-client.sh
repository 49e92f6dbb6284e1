#!/bin/sh
# Runs the hostfactory client for one HostFactory operation: _run-client.sh <operation> -f <file>.
# stdout is the client's alone (one JSON document), and so is the exit code. The client's stderr
# is appended to $HF_PROVIDER_LOGDIR/hostfactory-k8s.log when HostFactory set that variable.
set -eu

operation=$1
shift
here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)

# (A failed redirection would end the script, hence the trial in a subshell.)
log=${HF_PROVIDER_LOGDIR:+$HF_PROVIDER_LOGDIR/hostfactory-k8s.log}
if [ -n "$log" ] && (: >>"$log") 2>/dev/null; then
  exec 2>>"$log"
fi

# The client: $HOSTFACTORY_CLI, else what `hostfactory install` recorded beside these scripts,
# else this repository's when run from a checkout, else `hostfactory` on PATH.
# Node.js: $HOSTFACTORY_NODE, else what install recorded, else `node` on PATH.
if [ -f "$here/hostfactory-k8s.env" ]; then
  . "$here/hostfactory-k8s.env"
fi
if [ -z "${HOSTFACTORY_CLI:-}" ] && [ -f "$here/../client/main.ts" ]; then
  HOSTFACTORY_CLI=$here/../client/main.ts
fi
if [ -z "${HOSTFACTORY_CLI:-}" ]; then
  HOSTFACTORY_CLI=$(command -v hostfactory || true)
fi
node=${HOSTFACTORY_NODE:-node}

# Node's compile cache keeps the client's TypeScript stripped and compiled between calls, which
# saves a third of every call. It lives in a folder of the user HostFactory runs as, never in a
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
if ! command -v "$node" >/dev/null 2>&1; then
  fail "cannot find Node.js" "no $node; set HOSTFACTORY_NODE to a Node.js >= 22.18 binary"
fi
exec "$node" "$HOSTFACTORY_CLI" "$operation" "$@"
