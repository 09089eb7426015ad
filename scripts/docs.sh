#!/usr/bin/env bash
# Build the documentation into docs/_build/html with warnings as errors.
# The example gallery is executed: every examples/plot_*.py runs with
# SKSEQUENCE_EXAMPLES_QUICK=1 (small data, few epochs) and its figures and printed
# results go into its page (a few minutes on 2 cores). SKSEQUENCE_EXAMPLES_QUICK=0
# runs the examples at full size; SKSEQUENCE_DOCS_RUN_EXAMPLES=0 skips running them.
# Extra arguments go to sphinx-build.
set -euo pipefail
cd "$(dirname "$0")/.."
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# pip's own notices go to a log, shown only if the install fails.
if ! { python -m pip install --quiet torch==2.13.0 &&
    python -m pip install --quiet -e ".[docs]"; } >"$log" 2>&1; then
    cat "$log"
    exit 1
fi
rm -rf docs/_build docs/generated docs/auto_examples docs/_gallery_src
export SKSEQUENCE_EXAMPLES_QUICK="${SKSEQUENCE_EXAMPLES_QUICK:-1}"
python -m sphinx -W --keep-going -q -b html docs docs/_build/html "$@"
echo "docs built with no warnings: docs/_build/html/index.html"
