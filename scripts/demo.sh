#!/usr/bin/env bash
# Set up (idempotent), then run the classic scenario: break at do_mkdirat while the guest runs mkdir.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh demo
exec node dist/src/cli/main.js demo "$@"
