#!/usr/bin/env bash
# Formatting check (ctest unit.format): every C++ file of the project matches .clang-format.
#   check_format.sh SOURCE_ROOT          fails naming each file that clang-format would change
#   check_format.sh --self-test          shows the check catches a misformatted file
# Fix a failure with: clang-format -i FILE... (Debian's clang-format 14, as packaging/install-deps.sh installs).
set -uo pipefail
if ! command -v clang-format >/dev/null; then echo "clang-format is not installed (packaging/install-deps.sh)"; exit 1; fi

check_tree() {
  local root=$1 files=()
  while IFS= read -r -d '' file; do files+=("$file"); done < <(find "$root/engine" "$root/app" "$root/ui" "$root/tests" \
      -path "$root/tests/data" -prune -o \( -name '*.cpp' -o -name '*.h' -o -name '*.hpp' \) -type f -print0 2>/dev/null)
  [[ ${#files[@]} -eq 0 ]] && { echo "format: no C++ files under $root"; return 1; }
  # One clang-format process for all files (one per file took ~35 s); it names each drifting file on stderr.
  local report
  if report=$(clang-format --style=file --dry-run --Werror "${files[@]}" 2>&1); then
    echo "format: ok (${#files[@]} files)"
    return 0
  fi
  local bad
  bad=$(grep -oE '^[^:]+:[0-9]+:[0-9]+: (error|warning)' <<<"$report" | cut -d: -f1 | sort -u | sed "s|^$root/||")
  echo "$(wc -l <<<"$bad") file(s) differ from .clang-format (run clang-format -i on them):"
  sed 's/^/  /' <<<"$bad"
  return 1
}

if [[ ${1:-} == --self-test ]]; then
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  here=$(cd "$(dirname "$0")/../.." && pwd)
  cp "$here/.clang-format" "$tmp/"
  mkdir -p "$tmp/engine" "$tmp/app" "$tmp/ui" "$tmp/tests"
  printf 'int  f( int x ){return x;}\n' > "$tmp/engine/bad.cpp"
  if check_tree "$tmp" >/dev/null; then echo "self-test: a misformatted file passed"; exit 1; fi
  clang-format -i --style=file "$tmp/engine/bad.cpp"
  check_tree "$tmp" >/dev/null || { echo "self-test: a formatted file failed"; exit 1; }
  echo "format self-test: ok"; exit 0
fi
check_tree "${1:?usage: check_format.sh SOURCE_ROOT | --self-test}"
