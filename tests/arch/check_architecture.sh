#!/usr/bin/env bash
# Architecture checks (ctest, label unit).
#   check_architecture.sh engine-qt-free SOURCE_ROOT [LINK_LIBRARIES_FILE]
#     fails if a file under engine/ includes a Qt header, or an engine target links Qt.
#   check_architecture.sh ui-torch-free SOURCE_ROOT
#     fails if a file under ui/ includes a torch, ATen or c10 header.
set -uo pipefail
mode=$1 root=$2 links=${3:-}
status=0
case $mode in
  engine-qt-free)
    hits=$(grep -rnE '^\s*#\s*include\s*[<"](Q[A-Za-z]+|Qt[A-Za-z]*/)' "$root/engine" --include='*.h' --include='*.hpp' --include='*.cpp' --include='*.cc' || true)
    if [[ -n $hits ]]; then echo "engine/ must stay Qt-free, but includes Qt headers:"; echo "$hits"; status=1; fi
    if [[ -n $links ]]; then
      if [[ ! -f $links ]]; then echo "missing $links"; status=1
      elif grep -nE 'Qt[56]?::|libQt' "$links"; then echo "an engine target links Qt (see above)"; status=1; fi
    fi ;;
  ui-torch-free)
    hits=$(grep -rnE '^\s*#\s*include\s*[<"](torch|ATen|c10)/' "$root/ui" --include='*.h' --include='*.hpp' --include='*.cpp' --include='*.cc' || true)
    if [[ -n $hits ]]; then echo "ui/ must not include torch headers (use the engine's public API):"; echo "$hits"; status=1; fi ;;
  *) echo "unknown mode $mode"; exit 2 ;;
esac
[[ $status -eq 0 ]] && echo "$mode: ok"
exit $status
