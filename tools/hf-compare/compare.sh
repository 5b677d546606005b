#!/bin/bash
# Interleaved rounds: tastemaker-cli generate as a whole process (start, load, T5, every step, EnCodec, WAV)
# against Hugging Face's generate() alone, 2 s of audio, float32 and bfloat16, on the same machine in one run.
# usage: tools/hf-compare/compare.sh MODEL_DIR [ROUNDS]
#   MODEL_DIR  a float32 MusicGen folder of musicgen-small's shape
#              (tastemaker-cli make-model --config models/musicgen-small-config.json --out MODEL_DIR)
#   env HF_SITE  a folder with transformers and huggingface_hub sources and the stand-ins (README.md)
#   env CLI      tastemaker-cli (default build/app/tastemaker-cli)
set -euo pipefail
model=${1:?usage: compare.sh MODEL_DIR [ROUNDS]}
rounds=${2:-3}
cli=${CLI:-build/app/tastemaker-cli}
site=${HF_SITE:?set HF_SITE to the folder holding transformers, huggingface_hub and the stand-ins (README.md)}
here=$(cd "$(dirname "$0")" && pwd)
config=$here/../../models/musicgen-small-config.json
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

printf '%-6s %-5s %12s %14s %15s %13s %12s\n' round dtype "ours (s)" "ours RSS (MiB)" "HF generate (s)" "HF ms/step" "HF / ours"
for round in $(seq 1 "$rounds"); do
    for dtype in f32 bf16; do
        /usr/bin/time -f '%e %M' -o "$tmp/time" "$cli" generate --model "$model" --dtype "$dtype" --duration 2 \
            --prompt "Classic Rock, electric guitar, keyboard, drums" --seed "$round" --out "$tmp/ours.wav" \
            > "$tmp/ours.log" 2>&1 || { cat "$tmp/ours.log"; exit 1; }
        read -r ours_s ours_kib < "$tmp/time"
        hf=$(PYTHONPATH=$site /usr/bin/python3 "$here/hf_generate.py" --config "$config" --dtype "$dtype" --frames 100 \
            --seed "$round" 2> "$tmp/hf.log" | tail -n 1) || { cat "$tmp/hf.log"; exit 1; }
        hf_s=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["generate_s"])' "$hf")
        hf_ms=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["ms_per_step"])' "$hf")
        printf '%-6s %-5s %12.2f %14d %15.2f %13.1f %12.2f\n' "$round" "$dtype" "$ours_s" $((ours_kib / 1024)) \
            "$hf_s" "$hf_ms" "$(python3 -c "print($hf_s / $ours_s)")"
    done
done
