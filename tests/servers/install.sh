#!/usr/bin/env bash
# Install the real MCP servers moat's integration tests federate, exactly as pinned here:
#   node_modules/  @modelcontextprotocol/server-everything and server-filesystem, with the
#                  Node 22 they run on (package.json / package-lock.json, `npm ci`)
#   .venv/         mcp-server-time and mcp-server-fetch with their dependencies, and so the
#                  `mcp` Python SDK; Authlib
#                  (requirements.txt, every package pinned)
# Idempotent: each half is skipped when what it installed still matches its lock file.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here"

stamp_of() { sha256sum "$@" | sha256sum | cut -d' ' -f1; }

npm_stamp=$(stamp_of package.json package-lock.json)
if [[ "$(cat node_modules/.moat-stamp 2>/dev/null)" != "$npm_stamp" \
    || ! -x node_modules/node/bin/node ]]; then
    echo "install.sh: npm ci in $here" >&2
    npm ci --no-audit --no-fund >&2
    echo "$npm_stamp" > node_modules/.moat-stamp
fi

py_stamp=$(stamp_of requirements.txt)
if [[ "$(cat .venv/.moat-stamp 2>/dev/null)" != "$py_stamp" || ! -x .venv/bin/mcp-server-time || ! -x .venv/bin/mcp-server-fetch ]]; then
    echo "install.sh: python venv in $here/.venv" >&2
    rm -rf .venv
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check --no-deps -r requirements.txt >&2
    .venv/bin/pip check --disable-pip-version-check >&2
    echo "$py_stamp" > .venv/.moat-stamp
fi
echo "install.sh: test servers ready in $here" >&2
