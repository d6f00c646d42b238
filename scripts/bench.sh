#!/usr/bin/env bash
# Set up (idempotent), then measure gdb, drgn and kdive on the same work and write BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh bench
exec node dist/bench/run-benchmarks.js "$@"
