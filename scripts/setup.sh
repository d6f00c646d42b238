#!/usr/bin/env bash
# Idempotent set-up of a Debian machine for kdive: Debian packages (installed when root,
# named when not), npm packages, and the TypeScript build.
#   scripts/setup.sh demo   what `kdive demo` needs
#   scripts/setup.sh test   what the test suite needs as well (oracles: gdb, binutils, cpio, llvm)
#   scripts/setup.sh bench  the tests' needs plus drgn and time(1) for the benchmarks
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-demo}

need=()
have_cmd() { command -v "$1" >/dev/null 2>&1; }
have_cmd qemu-system-x86_64 || need+=(qemu-system-x86)
# qemu-img: disk images and snapshots.
have_cmd qemu-img || need+=(qemu-utils)
# kdive needs a *static* busybox for the initramfs; the dynamic `busybox` package is not enough.
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' || need+=(busybox-static)
have_cmd apt-get || { echo "setup: apt-get not found: kdive fetches Debian kernels with apt and needs a Debian machine" >&2; exit 1; }
if [ "$mode" = test ] || [ "$mode" = bench ]; then
  have_cmd cpio || need+=(cpio)
  have_cmd gdb || need+=(gdb)
  have_cmd addr2line || need+=(binutils)
  have_cmd mke2fs || [ -x /usr/sbin/mke2fs ] || need+=(e2fsprogs)
  have_cmd llvm-symbolizer-14 || need+=(llvm-14)
  have_cmd tmux || need+=(tmux)
  [ -x /usr/bin/time ] || need+=(time)
  /usr/bin/python3 -c 'import drgn' 2>/dev/null || need+=(python3-drgn)
  # Building the KGDB test kernel.
  have_cmd make || need+=(make)
  have_cmd gcc || need+=(gcc)
  have_cmd flex || need+=(flex)
  have_cmd bison || need+=(bison)
  have_cmd bc || need+=(bc)
  [ -f /usr/include/libelf.h ] || need+=(libelf-dev)
  [ -f /usr/include/openssl/opensslv.h ] || need+=(libssl-dev)
  have_cmd xz || need+=(xz-utils)
fi

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing Debian packages: ${need[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2
    apt-get install -y -q --no-install-recommends "${need[@]}" >&2
  else
    echo "setup: missing Debian packages: ${need[*]}" >&2
    echo "setup: run as root: apt-get update && apt-get install ${need[*]}" >&2
    exit 1
  fi
fi

# apt-get download (used to fetch kernels) needs package lists; a fresh machine may have none.
if ! apt-cache show linux-image-cloud-amd64 >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: apt package lists are empty: running apt-get update" >&2
    apt-get update -q >&2
  else
    echo "setup: apt package lists are empty or stale: run 'apt-get update' as root" >&2
    exit 1
  fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages" >&2
  npm ci --no-audit --no-fund >&2
fi
echo "setup: building" >&2
rm -rf dist
npm run build >&2
