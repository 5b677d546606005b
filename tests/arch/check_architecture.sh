#!/usr/bin/env bash
# Architecture checks (ctest, label unit).
#   check_architecture.sh engine-qt-free SOURCE_ROOT [LINK_RECORD]
#     fails if a file under engine/ includes a Qt header, or an engine target (tm_*: not tm_widgets, tm_ui)
#     links Qt.
#   check_architecture.sh ui-torch-free SOURCE_ROOT
#     fails if a file under ui/ includes a torch, ATen or c10 header.
#   check_architecture.sh public-headers SOURCE_ROOT
#     fails if a public engine header hands out a mutable Impl& or dev tooling (makers, benchmarks, test hooks).
#   check_architecture.sh link-rules LINK_RECORD
#     LINK_RECORD holds lines "target: lib;lib;..." (the build's link_libraries.txt). Following those links,
#     fails if tm_base, tm_data, tm_world, tm_analysis, tm_eval or tm_widgets reach torch, c10 or tm_engine, or if the app (tastemaker,
#     tm_ui, tm_widgets) reaches the dev tooling (tm_devtools).
#   check_architecture.sh torch-free-binaries BINARY...
#     fails if one of the executables needs a torch or c10 shared library (readelf -d).
set -uo pipefail
mode=$1
status=0

# Every library `target` reaches through the record's links (itself excluded), one per line.
reachable() {
    local record=$1 target=$2
    awk -F': ' -v start="$target" '
        { deps[$1] = $2 }
        END {
            queue[0] = start; seen[start] = 1; n = 1
            for (i = 0; i < n; i++) {
                count = split(deps[queue[i]], parts, ";")
                for (j = 1; j <= count; j++) {
                    d = parts[j]
                    if (d == "" || (d in seen)) continue
                    seen[d] = 1; queue[n++] = d; print d
                }
            }
        }' "$record"
}

case $mode in
  engine-qt-free)
    root=$2 links=${3:-}
    hits=$(grep -rnE '^\s*#\s*include\s*[<"](Q[A-Za-z]+|Qt[A-Za-z]*/)' "$root/engine" --include='*.h' --include='*.hpp' --include='*.cpp' --include='*.cc' || true)
    if [[ -n $hits ]]; then echo "engine/ must stay Qt-free, but includes Qt headers:"; echo "$hits"; status=1; fi
    if [[ -n $links ]]; then
      if [[ ! -f $links ]]; then echo "missing $links"; status=1
      elif grep -vE '^(tm_widgets|tm_ui|tastemaker):' "$links" | grep -nE 'Qt[56]?::|libQt'; then
        echo "an engine target links Qt (see above)"; status=1
      fi
    fi ;;
  ui-torch-free)
    root=$2
    hits=$(grep -rnE '^\s*#\s*include\s*[<"](torch|ATen|c10)/' "$root/ui" --include='*.h' --include='*.hpp' --include='*.cpp' --include='*.cc' || true)
    if [[ -n $hits ]]; then echo "ui/ must not include torch headers (use the engine's public API):"; echo "$hits"; status=1; fi ;;
  link-rules)
    record=$2
    if [[ ! -f $record ]]; then echo "missing $record"; exit 1; fi
    for target in tm_base tm_data tm_world tm_analysis tm_eval tm_widgets; do
      grep -q "^$target:" "$record" || continue
      bad=$(reachable "$record" "$target" | grep -E 'torch|Torch|TORCH|c10|^tm_engine$|^tm_devtools$' || true)
      if [[ -n $bad ]]; then echo "$target must not link torch or the engine, but reaches:"; echo "$bad"; status=1; fi
    done
    for target in tastemaker tm_ui tm_widgets; do
      grep -q "^$target:" "$record" || continue
      if reachable "$record" "$target" | grep -qx tm_devtools; then
        echo "$target (the app) must not link the dev tooling, but reaches tm_devtools"; status=1
      fi
    done ;;
  torch-free-binaries)
    shift
    for binary in "$@"; do
      if [[ ! -f $binary ]]; then echo "missing $binary"; status=1; continue; fi
      needed=$(readelf -d "$binary" | grep -E 'NEEDED.*(torch|c10)' || true)
      if [[ -n $needed ]]; then echo "$binary must not load torch, but needs:"; echo "$needed"; status=1; fi
    done ;;
  public-headers)
    root=$2
    # The public engine headers hand out no mutable model internals and no dev tooling (random model and bank
    # makers, benchmarks, test hooks live in engine/devtools and engine-internal headers).
    hits=$(grep -rnE 'Impl&[[:space:]]+impl\(|setSimulated[A-Za-z]*\(|makeRandom[A-Za-z]*\(|benchmark[A-Z][A-Za-z]*\(' \
             "$root/engine/include" --include='*.h' || true)
    if [[ -n $hits ]]; then echo "public engine headers expose internals or dev tooling:"; echo "$hits"; status=1; fi ;;
  *) echo "unknown mode $mode"; exit 2 ;;
esac
[[ $status -eq 0 ]] && echo "$mode: ok"
exit $status
