#!/usr/bin/env bash
# The aarch64 check of the kernels: compiles the whole workspace (every target) for
# aarch64-unknown-linux-gnu, then builds the unit tests of the kernel and plugin crates for it
# and runs them under qemu-user. On aarch64 the SIMD dispatch has no x86 levels: every kernel
# runs its portable block loop, which the compiler vectorizes for NEON (part of the aarch64
# baseline), and the unit tests compare it with the scalar reference as on x86.
#
#   bash scripts/aarch64_check.sh
#
# Installs what it needs: the Rust standard library for the target (rustup) and, with apt-get,
# Debian's cross linker and qemu-user (as root, or with sudo). Takes about 8 minutes on 2 cores
# the first time. The integration tests (`tests/it`) are not run: they start the `fxchain`
# binary as a subprocess, which qemu-user cannot follow without binfmt support.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
TARGET=aarch64-unknown-linux-gnu

rustup target list --installed | grep -qx "$TARGET" || { log "rustup target add $TARGET"; rustup target add "$TARGET"; }
if ! command -v aarch64-linux-gnu-gcc >/dev/null || ! command -v qemu-aarch64 >/dev/null; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  log "apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user >/dev/null
fi
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu"

log "cargo check --workspace --all-targets --target $TARGET (warnings are errors)"
RUSTFLAGS="-D warnings" cargo check -q --workspace --all-targets --target "$TARGET"
log "unit tests of the kernel and plugin crates, under qemu-aarch64"
cargo test -q --target "$TARGET" --lib \
  -p fxchain-plugin-api -p fxkit -p fxchain-blur -p fxchain-color -p fxchain-composite \
  -p fxchain-edges -p fxchain-generators -p fxchain-geometry -p fxchain-glitch
log "aarch64: ok"
