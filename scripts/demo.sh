#!/usr/bin/env bash
# Set up and run the main demo (the README's demo command): trains an LSTM autoencoder on
# 61 years of monthly El Nino sea temperatures, prints the most unusual years and saves
# demo_elnino.png.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --quiet torch==2.13.0
python -m pip install --quiet -e ".[examples]"
python examples/demo_elnino.py
