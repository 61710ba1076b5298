#!/usr/bin/env bash
# Runs a command on another Node.js line: `scripts/with-node.sh 26 node scripts/test.mjs`.
# The line's official binary comes from the npm registry's `node` package (no nvm, no download site),
# cached per major in ${TANDEM_NODE_CACHE:-~/.cache/tandem-node}; `npm` itself runs on it too.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: scripts/with-node.sh <major: 22|24|26> <command> [args...]" >&2
  exit 2
fi
major="$1"
shift
cache="${TANDEM_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tandem-node}/$major"
bin="$cache/node_modules/node/bin"
if [ ! -x "$bin/node" ]; then
  echo "with-node: installing node@$major into $cache" >&2
  npm install --prefix "$cache" --no-save --no-audit --no-fund --loglevel=error "node@$major" >&2
fi
export PATH="$bin:$PATH"
# A native addon (none of Tandem's own; some of the bench's anchors) must build against this line's
# headers, not the ones the machine's npm is configured with.
for platform in "$cache"/node_modules/node/node_modules/node-*; do
  if [ -d "$platform/include/node" ]; then export npm_config_nodedir="$platform"; fi
done
exec "$@"
