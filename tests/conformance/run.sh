#!/usr/bin/env bash
# Run the official MCP conformance suite (server side) against URL.
#
#   tests/conformance/run.sh URL REQUIREMENTS OUTDIR
#
# URL           MCP endpoint, e.g. http://127.0.0.1:3000/mcp (must be loopback:
#               the DNS-rebinding scenario only accepts localhost URLs)
# REQUIREMENTS  spec revision whose frozen requirement set to run:
#               2025-11-25 or 2026-07-28
# OUTDIR        where the per-scenario results (<scenario>-<time>/checks.json)
#               and summary-REQUIREMENTS.txt go
#
# Uses the Node 22 and @modelcontextprotocol/conformance pinned in
# package.json / package-lock.json (installed with `npm ci` when missing).
# Exits non-zero when the suite fails a scored scenario or when any check in
# any checks.json (scored or not) has status FAILURE. Prints every failing
# check, then a closing "conformance: N passed, N failed" line.
set -euo pipefail

if [[ $# -ne 3 ]]; then
    echo "usage: $0 URL REQUIREMENTS OUTDIR" >&2
    exit 2
fi
url=$1
requirements=$2
outdir=$3

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
node="$here/node_modules/node/bin/node"
cli="$here/node_modules/@modelcontextprotocol/conformance/dist/index.js"
if [[ ! -x "$node" || ! -f "$cli" ]]; then
    (cd "$here" && npm ci --no-audit --no-fund >&2)
fi

mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
# Results of earlier runs in OUTDIR are left alone and not tallied.
before=$(ls -A "$outdir")

status=0
"$node" "$cli" server \
    --url "$url" \
    --requirements "$requirements" \
    --output-dir "$outdir" \
    2>&1 | tee "$outdir/summary-$requirements.txt" || status=$?

# Tally individual checks across every scenario's checks.json.
failures=0
"$node" -e '
const fs = require("fs"), path = require("path");
const counts = {};
const failed = [];
const before = new Set(process.argv[2].split("\n"));
for (const dir of fs.readdirSync(process.argv[1]).sort()) {
  if (before.has(dir)) continue;
  const file = path.join(process.argv[1], dir, "checks.json");
  if (!fs.existsSync(file)) continue;
  for (const c of JSON.parse(fs.readFileSync(file, "utf8"))) {
    counts[c.status] = (counts[c.status] || 0) + 1;
    if (c.status === "FAILURE") failed.push(`${dir}: ${c.id}: ${c.errorMessage || ""}`);
  }
}
for (const f of failed) console.log(`FAILED ${f}`);
console.log(`check statuses: ${JSON.stringify(counts)}`);
console.log(`conformance: ${counts.SUCCESS || 0} passed, ${counts.FAILURE || 0} failed`);
process.exit(failed.length > 0 ? 1 : 0);
' "$outdir" "$before" | tee -a "$outdir/summary-$requirements.txt" || failures=$?

if [[ $status -ne 0 ]]; then
    exit "$status"
fi
exit "$failures"
