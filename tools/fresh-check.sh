#!/usr/bin/env bash
# The check to run before resolving an issue: the README's two commands as a
# new user runs them. A fresh clone of this checkout's HEAD in a temporary
# folder, a fresh Python environment there (tools/setup.sh makes .venv/ from
# requirements.lock; nothing of this checkout's build or venv is reused), and
# the two commands of the README's first code block, read from the clone's
# README so that the check and the README cannot drift apart. Exit status 0
# when both pass. Takes as long as CI (20-30 minutes on 2 cores).
#
#   bash tools/fresh-check.sh          # the clone is removed when it passes
#   KILN_FRESH_KEEP=1 bash ...         # keep it (its path is printed)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
if [ -n "$(git -C "$src" status --porcelain --untracked-files=no)" ]; then
  echo "fresh-check: warning: uncommitted changes are not part of the check (it clones HEAD)" >&2
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kiln-fresh.XXXXXX")
git clone -q "$src" "$tmp/kiln"
cd "$tmp/kiln"
echo "fresh-check: $(git log -1 --format='%h %s' | cut -c1-100)"
echo "fresh-check: in $tmp/kiln"
# the README's first ```sh block: its command lines, comments dropped
mapfile -t cmds < <(awk '/^```sh/{f=1; next} /^```/{if (f) exit} f' README.md | sed 's/[[:space:]]*#.*$//' | grep .)
[ "${#cmds[@]}" -eq 2 ] || { echo "fresh-check: the README's first code block has ${#cmds[@]} commands, not 2" >&2; exit 1; }
start=$(date +%s)
status=0
for c in "${cmds[@]}"; do
  echo "fresh-check: \$ $c"
  # as a new user's shell: no virtual environment or Python path of ours
  env -u VIRTUAL_ENV -u PYTHONPATH -u PYTHONHOME bash -c "$c" > >(tee -a "$tmp/log.txt") 2>&1 || { status=$?; break; }
done
echo "fresh-check: exit status $status after $(( $(date +%s) - start )) s (log: $tmp/log.txt)"
if [ "$status" -eq 0 ] && [ -z "${KILN_FRESH_KEEP:-}" ]; then
  rm -rf "$tmp"
fi
exit "$status"
