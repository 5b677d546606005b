#!/usr/bin/env bash
# Builds the tensor-file fuzzers (libFuzzer + ASan + UBSan) straight from the torch-free engine sources
# and runs each for TM_FUZZ_SECONDS (default 60). Exits non-zero when a fuzzer finds a crash, leak,
# timeout or undefined behaviour; the input that triggered it is kept under OUTPUT_DIR/artifacts.
#
#   tests/fuzz/run_fuzz.sh [OUTPUT_DIR]     (default: build-fuzz in the source root)
#
# Environment: TM_FUZZ_SECONDS (per target), TM_FUZZ_CXX (default clang++),
#              TM_FUZZ_TARGETS (default "safetensors npy csv"), NLOHMANN_JSON_INCLUDE (if not a system header).
# Exit status 77 means "skipped": no clang with libFuzzer on this machine.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$(mkdir -p "${1:-$root/build-fuzz}" && cd "${1:-$root/build-fuzz}" && pwd)"
seconds="${TM_FUZZ_SECONDS:-60}"
cxx="${TM_FUZZ_CXX:-clang++}"
targets="${TM_FUZZ_TARGETS:-safetensors npy csv}"
jobs="$(nproc 2>/dev/null || echo 2)"

flags=(-std=c++20 -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
       -I"$root/engine/include" -I"$root/engine")
[[ -n "${NLOHMANN_JSON_INCLUDE:-}" ]] && flags+=(-isystem "$NLOHMANN_JSON_INCLUDE")

if ! command -v "$cxx" >/dev/null 2>&1 ||
   ! echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' |
       "$cxx" -x c++ -fsanitize=fuzzer - -o "$out/probe" >/dev/null 2>&1; then
    echo "run_fuzz.sh: skipped, $cxx with -fsanitize=fuzzer is not available (install clang and libclang-rt-dev)" >&2
    exit 77
fi

# --- build: every torch-free engine source once, then one binary per target ----------------------------
rm -rf "$out/obj"
mkdir -p "$out/obj" "$out/artifacts"
sources=("$root"/engine/core/*.cpp "$root"/engine/tensorio/*.cpp "$root"/engine/data/csv_reader.cpp)
echo "run_fuzz.sh: compiling ${#sources[@]} engine sources with $cxx"
printf '%s\n' "${sources[@]}" | xargs -P "$jobs" -I{} sh -c '
    src="$1"; shift; out="$1"; shift; cxx="$1"; shift
    obj="$out/obj/$(echo "${src#*/engine/}" | tr / _).o"
    exec "$cxx" "$@" -fsanitize=fuzzer-no-link -c "$src" -o "$obj"' _ {} "$out" "$cxx" "${flags[@]}"
objects=("$out"/obj/*.o)

for target in $targets; do
    echo "run_fuzz.sh: linking fuzz_$target"
    "$cxx" "${flags[@]}" -fsanitize=fuzzer "$here/fuzz_$target.cpp" "${objects[@]}" -pthread -lz -o "$out/fuzz_$target"
done

# --- seeds and dictionaries ------------------------------------------------------------------------------
le64() {  # the 8 little-endian bytes of $1, as printf escapes
    local n=$1 text="" i
    for i in 0 1 2 3 4 5 6 7; do text+="$(printf '\\x%02x' $(((n >> (8 * i)) & 255)))"; done
    printf '%s' "$text"
}
seed_safetensors() {  # $1 file, $2 header JSON, $3 data bytes (printf escapes)
    printf "$(le64 ${#2})%s$3" "$2" > "$1"
}
seed_npy() {  # $1 file, $2 header dict, $3 data bytes (printf escapes); version 1.0, 64-byte aligned
    local header="$2"
    while (( (10 + ${#header} + 1) % 64 != 0 )); do header+=" "; done
    local length=$(( ${#header} + 1 ))
    printf "\x93NUMPY\x01\x00$(printf '\\x%02x\\x%02x' $((length & 255)) $((length >> 8)))%s\n$3" "$header" > "$1"
}

corpus="$out/corpus"
mkdir -p "$corpus/safetensors" "$corpus/npy" "$corpus/csv"
printf 'a,b,"c\nd"\n1,"x,""y""",3\r\n4,5\n' > "$corpus/csv/seed-quotes"
cp "$root/tests/data/datasets/malformed_rows.csv" "$corpus/csv/seed-malformed"
seed_safetensors "$corpus/safetensors/seed-two" \
    '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I64","shape":[1,1],"data_offsets":[8,16]}}' \
    '\x00\x00\x80\x3f\x00\x00\x00\x40\x07\x00\x00\x00\x00\x00\x00\x00'
seed_safetensors "$corpus/safetensors/seed-dtypes" \
    '{"h":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]},"f":{"dtype":"F16","shape":[],"data_offsets":[4,6]},"m":{"dtype":"BOOL","shape":[2,1],"data_offsets":[6,8]},"u":{"dtype":"U8","shape":[0,3],"data_offsets":[8,8]},"i":{"dtype":"I32","shape":[1],"data_offsets":[8,12]}}' \
    '\x80\x3f\x00\x40\x00\x3c\x01\x00\x05\x00\x00\x00'
seed_npy "$corpus/npy/seed-f4" "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1), }" \
    '\x00\x00\x80\x3f\x00\x00\x00\x40'
seed_npy "$corpus/npy/seed-i8" "{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }" '\x05\x00\x00\x00\x00\x00\x00\x00'
seed_npy "$corpus/npy/seed-b1" "{'descr': '|b1', 'fortran_order': False, 'shape': (), }" '\x01'

cat > "$out/safetensors.dict" <<'EOF'
"__metadata__"
"dtype"
"shape"
"data_offsets"
"F32"
"F16"
"BF16"
"I64"
"I32"
"U8"
"BOOL"
"18446744073709551615"
"9223372036854775807"
EOF
cat > "$out/csv.dict" <<'EOF'
","
"\""
"\"\""
"\x0d\x0a"
"\xef\xbb\xbf"
EOF
cat > "$out/npy.dict" <<'EOF'
"\x93NUMPY"
"'descr'"
"'fortran_order'"
"'shape'"
"True"
"False"
"'<f4'"
"'<i8'"
"'<i4'"
"'<f2'"
"'|u1'"
"'|b1'"
"'|O'"
"'>f4'"
"9223372036854775807"
EOF

# --- run ---------------------------------------------------------------------------------------------------
failed=()
for target in $targets; do
    echo "run_fuzz.sh: running fuzz_$target for ${seconds}s"
    log="$out/fuzz_$target.log"
    if "$out/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
           -dict="$out/$target.dict" -artifact_prefix="$out/artifacts/$target-" "$corpus/$target" > "$log" 2>&1; then
        echo "run_fuzz.sh: fuzz_$target ok, $(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}') executions"
    else
        echo "run_fuzz.sh: fuzz_$target FAILED, see $log and $out/artifacts" >&2
        tail -n 40 "$log" >&2
        failed+=("$target")
    fi
done
if ((${#failed[@]})); then
    echo "run_fuzz.sh: failures in: ${failed[*]}" >&2
    exit 1
fi
