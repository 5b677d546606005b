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
# link records: the torch-free libraries must not reach torch or the engine, the app not the dev tooling
printf '%s\n' 'tm_base: Threads::Threads' 'tm_data: tm_base;ZLIB::ZLIB' 'tm_engine: tm_data;torch' \
    'tm_devtools: tm_engine' 'tm_widgets: Qt6::Widgets;tm_data' 'tm_ui: tm_widgets;tm_engine' 'tastemaker: tm_ui' \
    > "$tmp/clean/record.txt"
sed 's/^tm_data: .*/tm_data: tm_base;helper/' "$tmp/clean/record.txt" > "$tmp/link/torch_data.txt"
echo 'helper: c10' >> "$tmp/link/torch_data.txt"
sed 's/^tm_ui: .*/tm_ui: tm_widgets;tm_engine;tm_devtools/' "$tmp/clean/record.txt" > "$tmp/link/dev_app.txt"
sed 's/^tm_widgets: .*/tm_widgets: Qt6::Widgets;tm_engine/' "$tmp/clean/record.txt" > "$tmp/link/engine_widgets.txt"
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
mkdir -p "$tmp/clean/engine/include/tastemaker" "$tmp/mutable/engine/include/tastemaker" "$tmp/dev/engine/include/tastemaker"
echo 'class MusicgenModel { const ModelInfo& info() const; };' > "$tmp/clean/engine/include/tastemaker/musicgen.h"
echo 'class MusicgenModel { Impl& impl() const; };' > "$tmp/mutable/engine/include/tastemaker/musicgen.h"
echo 'void setSimulatedWriteFailureAfterBytes(long bytes);' > "$tmp/dev/engine/include/tastemaker/fileio.h"
expect 0 public-headers "$tmp/clean"
expect 1 public-headers "$tmp/mutable"
expect 1 public-headers "$tmp/dev"
expect 1 engine-qt-free "$tmp/link" "$tmp/link/links.txt"
expect 0 link-rules "$tmp/clean/record.txt"
expect 1 link-rules "$tmp/link/torch_data.txt"
expect 1 link-rules "$tmp/link/dev_app.txt"
expect 1 link-rules "$tmp/link/engine_widgets.txt"
expect 0 torch-free-binaries "$(command -v bash)"
# A binary that needs libc10 (skipped where no C compiler or libc10 is at hand).
if echo 'int main(void) { return 0; }' | cc -x c - -o "$tmp/torchy" -Wl,--no-as-needed -lc10 2>/dev/null; then
  expect 1 torch-free-binaries "$tmp/torchy"
fi
exit $fail
