#!/usr/bin/env bash
# Shows that check_architecture.sh fails on trees that break each rule and passes on a clean one.
set -uo pipefail
check=$1
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/clean/engine" "$tmp/clean/ui" "$tmp/qt/engine/core" "$tmp/torch/ui" "$tmp/link/engine"
echo '#include <vector>' > "$tmp/clean/engine/a.cpp"
echo '#include <QWidget>' > "$tmp/clean/ui/a.cpp"
echo '#include <QString>' > "$tmp/qt/engine/core/a.cpp"
echo '  #  include "ATen/ATen.h"' > "$tmp/torch/ui/w.cpp"
echo 'tm_engine: tm_base;Qt6::Core' > "$tmp/link/links.txt"
echo 'tm_engine: tm_base' > "$tmp/clean/links.txt"
fail=0
expect() { # expect RC MODE ROOT [LINKS]
  local want=$1; shift
  bash "$check" "$@" >/dev/null; local rc=$?
  if [[ $rc -ne $want ]]; then echo "FAIL: check $* returned $rc, expected $want"; fail=1; else echo "ok: check $* -> $rc"; fi
}
expect 0 engine-qt-free "$tmp/clean" "$tmp/clean/links.txt"
expect 0 ui-torch-free "$tmp/clean"
expect 1 engine-qt-free "$tmp/qt"
expect 1 ui-torch-free "$tmp/torch"
expect 1 engine-qt-free "$tmp/link" "$tmp/link/links.txt"
exit $fail
