#!/usr/bin/env bash
# Runs the validator fuzz target for N seconds (default 60) from the committed seeds; fails on
# any crash. Installs cargo-fuzz if missing. `-s none`: no sanitizer, so it works on stable Rust.
#   fuzz/smoke.sh [SECONDS]          e.g. fuzz/smoke.sh 600 for the long run
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds=${1:-60}
command -v cargo-fuzz >/dev/null || cargo install --locked --quiet cargo-fuzz@0.13.2
mkdir -p fuzz/corpus/validate_response
cargo fuzz run -s none validate_response fuzz/corpus/validate_response fuzz/seeds/validate_response \
  -- -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
