#!/usr/bin/env bash
# Runs the editor clients' test suites against the real contextd binary.
#
#   CONTEXTD=/path/to/contextd editors/run-tests.sh [vscode] [neovim] [emacs]
#
# CONTEXTD defaults to .build/debug/contextd relative to the repository root.
# A missing editor program (node, nvim, emacs) is skipped with a message when CI
# is unset; under CI it is a failure. Exits non-zero if any suite fails.
set -u

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
server="${CONTEXTD:-$root/.build/debug/contextd}"
case "$server" in /*) ;; *) server="$PWD/$server" ;; esac
export CONTEXTD="$server"

if [ ! -x "$CONTEXTD" ]; then
  echo "run-tests: contextd binary not found at $CONTEXTD (run 'swift build' or set CONTEXTD)" >&2
  exit 2
fi

suites=("$@")
[ ${#suites[@]} -eq 0 ] && suites=(vscode neovim emacs)

failed=()
skipped=()

# need PROGRAM SUITE: 0 if present; otherwise skip (no CI) or fail (CI).
need() {
  if command -v "$1" >/dev/null 2>&1; then return 0; fi
  if [ -n "${CI:-}" ] && [ "${CI}" != "false" ] && [ "${CI}" != "0" ]; then
    echo "run-tests: $2: '$1' is not installed (required under CI)" >&2
    failed+=("$2 (missing $1)")
  else
    echo "run-tests: $2: SKIPPED — '$1' is not installed" >&2
    skipped+=("$2")
  fi
  return 1
}

run_vscode() {
  need node vscode || return 0
  echo "== vscode: node --test (node $(node --version))"
  (cd "$here/vscode" && node --test test/*.test.js) || failed+=(vscode)
}

run_neovim() {
  need nvim neovim || return 0
  echo "== neovim: headless nvim ($(nvim --version | head -n 1))"
  (cd "$root" && timeout 300 nvim --headless -u NONE -i NONE -n \
      --cmd "set rtp^=$here/neovim" \
      -c "luafile $here/neovim/test/contextd_test.lua") || failed+=(neovim)
}

run_emacs() {
  need emacs emacs || return 0
  echo "== emacs: ERT ($(emacs --version | head -n 1))"
  (cd "$root" && timeout 300 emacs --batch -Q -L "$here/emacs" \
      --eval '(setq byte-compile-error-on-warn t)' \
      -f batch-byte-compile "$here/emacs/contextd.el") || failed+=("emacs (byte-compile)")
  rm -f "$here/emacs/contextd.elc"
  (cd "$root" && timeout 300 emacs --batch -Q -L "$here/emacs" \
      -l "$here/emacs/test/contextd-test.el" \
      -f ert-run-tests-batch-and-exit) || failed+=(emacs)
}

for suite in "${suites[@]}"; do
  case "$suite" in
    vscode) run_vscode ;;
    neovim|nvim) run_neovim ;;
    emacs) run_emacs ;;
    *) echo "run-tests: unknown suite $suite" >&2; failed+=("$suite") ;;
  esac
done

echo
[ ${#skipped[@]} -gt 0 ] && echo "run-tests: skipped: ${skipped[*]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "run-tests: FAILED: ${failed[*]}" >&2
  exit 1
fi
if [ ${#skipped[@]} -gt 0 ]; then
  echo "run-tests: the suites that ran passed against $CONTEXTD (some were skipped)"
else
  echo "run-tests: all editor suites passed against $CONTEXTD"
fi
