#!/usr/bin/env bash
# Whole-process benchmark: builds every implementation in release mode (ours and the floor in
# this workspace; tokio-graceful-shutdown and the published proc-daemon in bench/peers) and
# prints the table. Usage: bench/run.sh [runs] [N ...]   e.g. bench/run.sh 5 1 1000 10000 100000
# (idle N subsystems for each N, then the restart and 100 ms clean-up workloads)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p bench --bins
(cd bench/peers && cargo build --release -q)
exec "${CARGO_TARGET_DIR:-target}"/release/harness "$@"
