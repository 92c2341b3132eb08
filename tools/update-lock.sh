#!/usr/bin/env bash
# Regenerate requirements.lock from requirements.txt: a throw-away virtual
# environment, `pip install -r requirements.txt` (pip resolves the transitive
# packages), then `pip freeze`, kept under the lock's comment header. Review the
# diff, then run `bash tools/fresh-check.sh` and commit both files.
#
#   bash tools/update-lock.sh
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip install -q --disable-pip-version-check -r requirements.txt
"$tmp/venv/bin/python" -m pip check
{
  sed -n '/^#/p;/^#/!q' requirements.lock 2>/dev/null || true
  "$tmp/venv/bin/python" -m pip freeze --all --exclude pip --exclude setuptools --exclude wheel |
    LC_ALL=C sort -f
} > "$tmp/lock"
mv "$tmp/lock" requirements.lock
echo "update-lock: requirements.lock:"
grep -v '^#' requirements.lock
