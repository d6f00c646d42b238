#!/usr/bin/env bash
# The fast test tier (`npm run test:unit`): no QEMU, no network, no file outside the repository.
#
# Which tests are fast is decided by where they are:
#   - src/**/*.test.ts        a unit test beside the one module it tests;
#   - test/unit/**/*.test.ts  tests that need the writers and fakes of test/support/ (tiny ELF,
#                             DWARF and ORC images built in memory, the fake RSP stub).
# Every other test/**/*.test.ts is the slow tier: it boots kernels under QEMU or compares with
# oracles (gdb, nm, addr2line) over the Debian vmlinux. `npm test` (scripts/test.sh) runs both tiers.
#
# Node 20's --test neither globs nor finds .ts files, so the list is built here and the .ts files
# run through tsx, without a build. HOME, TMPDIR and KDIVE_CACHE point into a private folder removed
# on exit, so a test cannot lean on ~/.cache/kdive (the kernels, the name index) and leaves nothing behind.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(find src test/unit -name '*.test.ts' 2>/dev/null | sort)
if [ ${#files[@]} -eq 0 ]; then echo "test:unit: no test files found under src/ or test/unit/" >&2; exit 1; fi
scratch=$(mktemp -d "${TMPDIR:-/tmp}/kdive-unit.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/home" "$scratch/tmp" "$scratch/cache"
export HOME="$scratch/home" TMPDIR="$scratch/tmp" KDIVE_CACHE="$scratch/cache" XDG_CACHE_HOME="$scratch/cache"
node --import tsx --test --test-concurrency=2 --test-timeout=30000 "${files[@]}"
