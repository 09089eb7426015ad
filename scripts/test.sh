#!/usr/bin/env bash
# Set up and run the test suite (the README's test command).
# torch first, from the local CPU wheel, so that "torch>=2.2" is met without a CUDA download.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --quiet torch==2.13.0
python -m pip install --quiet -e ".[test]"
# every test, the slow ones too (plain `pytest` leaves them out)
python -m pytest -q -p no:cacheprovider -m "slow or not slow" "$@"
