#!/usr/bin/env bash
# Runs each fuzz target briefly (20 s by default) from the committed seeds, for CI: exits
# non-zero as soon as a target crashes (libFuzzer leaves the input in fuzz/artifacts/<target>/).
# New inputs go to a scratch folder, so fuzz/corpus/ is left as committed.
#
#   fuzz/smoke.sh                 # every target, 20 s each
#   SMOKE_SECONDS=60 fuzz/smoke.sh replay
#
# Needs cargo-fuzz and a nightly toolchain (see fuzz/README.md).
set -euo pipefail

fuzz_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
seconds="${SMOKE_SECONDS:-20}"
toolchain="${FUZZ_TOOLCHAIN:-nightly}"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(api_body config replay)
fi

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

cd "$fuzz_dir/.."
for target in "${targets[@]}"; do
    echo "== $target: ${seconds} s"
    mkdir -p "$scratch/$target"
    # The first corpus folder receives new inputs; the seeds are only read.
    if ! cargo "+$toolchain" fuzz run "$target" \
        "$scratch/$target" "$fuzz_dir/corpus/$target" -- \
        -dict="$fuzz_dir/dicts/$target.dict" \
        -max_len=8192 -timeout=10 \
        -max_total_time="$seconds" -print_final_stats=1; then
        echo "== $target: FAILED (crash input in $fuzz_dir/artifacts/$target/)" >&2
        exit 1
    fi
done
echo "== all targets ran ${seconds} s without a crash"
