#!/usr/bin/env bash
# moat's benchmark, one command: builds moat and the benchmark tools, then measures every
# configuration A/B/A/B and writes bench/results/<date>-<commit>.{json,md} (see BENCHMARKS.md).
#
#   bench/run.sh              full run, release build (about 12 minutes on 2 cores)
#   bench/run.sh --quick      3-second phases instead of 10 (about 5 minutes)
#   bench/run.sh --smoke      a few hundred checked calls per configuration, no timing asserted;
#                             exits non-zero on any wrong answer (CI). Debug build, which the test
#                             suite has already built, unless BENCH_PROFILE=release.
#
# Other arguments go to `moat-bench run` (e.g. --only direct,moat). Honours CARGO_TARGET_DIR.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

profile=release
for arg in "$@"; do
    if [[ $arg == --smoke ]]; then
        profile=${BENCH_PROFILE:-dev}
    fi
done

target=${CARGO_TARGET_DIR:-$root/target}
if [[ $profile == release ]]; then
    cargo build --release -p moat -p moat-bench
    bin=$target/release
else
    cargo build -p moat -p moat-bench
    bin=$target/debug
fi
exec "$bin/moat-bench" run "$@"
