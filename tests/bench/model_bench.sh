#!/bin/sh
# Model benchmarks (`ninja bench`): what a user feels, decode and prefill
# speed, on the BitNet models at their real shapes.  Speed depends on shape,
# not on values, so the weights are synthetic (build/tools/mkmodel, seed 1),
# made once into build/models/ (named as the description's files.weights, so
# bitnet-b1.58-2b-4t-int8head and -int4head read bitnet-b1.58-2b-4t's) and remade only
# when missing or older than mkmodel.  For each model and 1 and 2 threads:
#   build/NAME/NAME -m build/models/FILE.gguf --bench --prompt-tokens 256 --gen-tokens 64 -t T
# Appends one JSON line per metric to build/bench.jsonl
#   {"bench": "model", "model": ..., "isa": ..., "threads": T, "metric": ..., "value": ...}
# and prints a table.  Run from the top folder:
#   tests/bench/model_bench.sh [NAME...]
#   (default: bitnet-b1.58-2b-4t bitnet-b1.58-2b-4t-int8head bitnet-b1.58-2b-4t-int4head bitnet-b1.58-large)
set -eu
models=${*:-bitnet-b1.58-2b-4t bitnet-b1.58-2b-4t-int8head bitnet-b1.58-2b-4t-int4head bitnet-b1.58-large}
metrics="decode_tok_s prefill_tok_s ttft_ms decode_bw_ratio"
mkdir -p build/models

# value of "key": number in a one-line JSON object
field() { printf '%s\n' "$1" | sed -n "s/.*\"$2\": \"\{0,1\}\([^,\"}]*\).*/\1/p"; }

printf '%-28s %-22s %7s %9s %10s %9s %9s %9s\n' model isa threads decode/s prefill/s "ttft ms" "bw ratio" MB/token
for name in $models; do
    gguf=build/models/$(lua5.4 -e "package.path = 'gen/?.lua;' .. package.path
        print(require('model').load('models/$name.lua').files.weights)")
    if [ ! -f "$gguf" ] || [ "$gguf" -ot build/tools/mkmodel ]; then
        echo "making $gguf (synthetic weights, once)"
        build/tools/mkmodel "models/$name.lua" --seed 1 -o "$gguf.tmp" 2> "$gguf.log" || { cat "$gguf.log"; exit 1; }
        mv "$gguf.tmp" "$gguf"
    fi
    for threads in 1 2; do
        json=$("build/$name/$name" -m "$gguf" --bench --prompt-tokens 256 --gen-tokens 64 -t "$threads")
        isa=$(field "$json" isa)
        for metric in $metrics; do
            printf '{"bench": "model", "model": "%s", "isa": "%s", "threads": %d, "metric": "%s", "value": %s}\n' \
                "$name" "$isa" "$threads" "$metric" "$(field "$json" "$metric")" >> build/bench.jsonl
        done
        printf '%-28s %-22s %7d %9s %10s %9s %9s %9.0f\n' "$name" "$isa" "$threads" \
            "$(field "$json" decode_tok_s)" "$(field "$json" prefill_tok_s)" "$(field "$json" ttft_ms)" \
            "$(field "$json" decode_bw_ratio)" "$(field "$json" weight_bytes_per_token)e-6"
    done
done
