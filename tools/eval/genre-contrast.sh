#!/bin/bash
# Genre following: genre-only prompts (the prompts DPO pairs use), N seeds each, analysed; counts the seeds where
# "Classical" reads more acoustic than "Techno", "Metal" more energetic than "Ambient" and "Techno" more
# energetic than "Classical" (same seed, same clip length). Used in docs/lm-training.md.
# usage: tools/eval/genre-contrast.sh MODEL_DIR OUT_DIR [SEEDS=8] [SECONDS=8]   (env CLI: tastemaker-cli)
set -euo pipefail
model=${1:?usage: genre-contrast.sh MODEL_DIR OUT_DIR [SEEDS] [SECONDS]}
out=${2:?usage: genre-contrast.sh MODEL_DIR OUT_DIR [SEEDS] [SECONDS]}
seeds=${3:-8}
seconds=${4:-8}
cli=${CLI:-build/app/tastemaker-cli}
mkdir -p "$out"
for genre in Techno Classical Metal Ambient; do
    for seed in $(seq 1 "$seeds"); do
        "$cli" generate --model "$model" --prompt "$genre" --duration "$seconds" --seed "$seed" \
            --out "$out/$genre-$seed.wav" > /dev/null
    done
done
"$cli" analyse "$out" > "$out/analysis.csv"
awk -F, -v seeds="$seeds" '
    NR == 1 { for (i = 1; i <= NF; ++i) column[$i] = i; next }
    {
        n = split($column["path"], parts, "/"); name = parts[n]; sub(/\.wav$/, "", name)
        split(name, gs, "-"); acoustic[gs[1], gs[2]] = $column["acousticness"]; energy[gs[1], gs[2]] = $column["energy"]
        sumA[gs[1]] += $column["acousticness"]; sumE[gs[1]] += $column["energy"]
    }
    END {
        for (s = 1; s <= seeds; ++s) {
            a += acoustic["Classical", s] > acoustic["Techno", s]
            b += energy["Metal", s] > energy["Ambient", s]
            c += energy["Techno", s] > energy["Classical", s]
        }
        printf "Classical more acoustic than Techno: %d of %d\n", a, seeds
        printf "Metal more energetic than Ambient: %d of %d\n", b, seeds
        printf "Techno more energetic than Classical: %d of %d\n", c, seeds
        split("Techno Classical Metal Ambient", order, " ")
        for (i = 1; i <= 4; ++i)
            printf "%s: mean acousticness %.2f, energy %.2f\n", order[i], sumA[order[i]] / seeds, sumE[order[i]] / seeds
    }' "$out/analysis.csv"
