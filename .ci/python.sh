#!/usr/bin/env bash
# CI for the Python package (python/): a virtual environment, the wheel built and installed the
# way a user installs it (`pip install ./python`), then its tests against the in-process engine
# and a real `rustybt live run`. Called by .ci/run after the Rust tests; runs alone as well.
set -euo pipefail
cd "$(dirname "$0")/.."

target="${CARGO_TARGET_DIR:-$PWD/target}"
venv="${RUSTYBT_CI_VENV:-$target/py-venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q --upgrade maturin pytest "mypy==2.4.1"

# The sidecar tests run the service binary (a debug build is enough for them).
cargo build --bin rustybt
export RUSTYBT_BIN="$target/debug/rustybt"

# Builds the PyO3 crate (release) with maturin and installs the wheel, as a user would.
"$venv/bin/pip" install --force-reinstall ./python

# Run from the tests' folder, so `import rustybt_live` is the installed wheel, not the source.
cd python/tests
status=0
"$venv/bin/python" -m pytest -q -p no:cacheprovider . || status=$?
# pytest exits 5 when it collected no test: that is a failure here too.
if [ "$status" -ne 0 ]; then
  echo "python tests failed (pytest exit $status)" >&2
  exit "$status"
fi
cd ../..

# The package's types: strict, the generated wire types included.
(cd python && "$venv/bin/mypy" --strict rustybt_live)
