#!/usr/bin/env bash
# Re-resolves tools/requirements-*.in into hash-locked requirements-*.txt (run after bumping a pin).
# pip-tools runs from a throw-away virtualenv so the project venvs never carry it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${PYTHON:-python3.11}"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
"$python" -m venv "$scratch/venv"
"$scratch/venv/bin/pip" install --quiet --disable-pip-version-check pip-tools==7.6.2
for name in sam checkov; do
  # --no-emit-find-links/--no-emit-index-url keep a developer's pip config out of the lock file.
  (cd "$here" && "$scratch/venv/bin/pip-compile" --quiet --generate-hashes --allow-unsafe --strip-extras \
    --no-emit-find-links --no-emit-index-url --no-emit-trusted-host \
    --output-file "requirements-$name.txt" "requirements-$name.in")
done
