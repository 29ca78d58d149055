#!/usr/bin/env bash
# Creates the project-local Python tool chain from the hash-locked tools/requirements-*.txt:
#   .venv/sam      aws-sam-cli + cfn-lint
#   .venv/checkov  checkov (its boto3 pin conflicts with aws-sam-cli's, hence a second venv)
#   .venv/bin      symlinks to sam, cfn-lint and checkov, so `PATH="$PWD/.venv/bin:$PATH"` is enough.
# Idempotent: a venv is rebuilt only when its lock file or the interpreter changed (stamp file),
# so a second run takes well under a second. Safe to run concurrently (flock), as parallel
# jest workers do.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venvs="$root/.venv"
python="${PYTHON:-python3.11}"

if ! command -v "$python" >/dev/null 2>&1; then
  echo "tools/venv.sh: $python not found (set PYTHON=/path/to/python3.11)" >&2
  exit 1
fi
py_version="$("$python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')"
case "$py_version" in
  3.11.*) ;;
  *) echo "tools/venv.sh: need Python 3.11 (the locks are resolved for it), got $py_version" >&2; exit 1 ;;
esac

mkdir -p "$venvs/bin"
exec 9>"$venvs/.lock"
flock 9

install_venv() {
  local name="$1" lock="$root/tools/requirements-$1.txt" dir="$venvs/$1"
  local want have=""
  want="$(sha256sum "$lock" | cut -d' ' -f1) python-$py_version"
  [[ -f "$dir/.stamp" ]] && have="$(cat "$dir/.stamp")"
  # The interpreter check catches a venv whose base Python was removed or upgraded in place.
  if [[ "$want" == "$have" ]] && "$dir/bin/python" -c '' 2>/dev/null; then
    return 0
  fi
  echo "tools/venv.sh: installing $name tools into .venv/$name" >&2
  rm -rf "$dir"
  "$python" -m venv "$dir"
  # --require-hashes + --no-deps: the lock file is the complete, verified set; pip resolves nothing.
  # --only-binary: wheels only, so no package runs a build script at install time.
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$dir/bin/pip" install --quiet \
    --require-hashes --no-deps --only-binary :all: -r "$lock"
  echo "$want" >"$dir/.stamp"
}

install_venv sam
install_venv checkov

ln -sfn ../sam/bin/sam "$venvs/bin/sam"
ln -sfn ../sam/bin/cfn-lint "$venvs/bin/cfn-lint"
ln -sfn ../checkov/bin/checkov "$venvs/bin/checkov"
