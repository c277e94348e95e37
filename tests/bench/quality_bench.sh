#!/bin/sh
# Quality of the lossy choices (`ninja bench`): perplexity of stories260K and
# its variants that quantize the head (int8, int6, int4) or the linear
# layers (int4 through LUT kernels with exact i16 or rounded i8 tables), on
# the same checkpoint and text (tests/data/stories.txt, chunks of 128):
#   build/NAME/NAME --perplexity tests/data/stories.txt -c 128 -t 2
# Appends one JSON line per model to build/bench.jsonl
#   {"bench": "quality", "model": ..., "metric": "ppl", "value": ..., "baseline": ...}
# and prints a table.  Run from the top folder:
#   tests/bench/quality_bench.sh [NAME...]
set -eu
models=${*:-stories260k stories260k-int8head stories260k-int6head stories260k-int4head stories260k-int4-lut-i16 stories260k-int4-lut-i8}
text=tests/data/stories.txt

field() { printf '%s\n' "$1" | sed -n "s/.*\"$2\": \"\{0,1\}\([^,\"}]*\).*/\1/p"; }

printf '%-28s %10s %10s %12s\n' model ppl "+/-" "vs f32"
baseline=
for name in $models; do
    json=$("build/$name/$name" --perplexity "$text" -c 128 -t 2 2> /dev/null)
    ppl=$(field "$json" ppl)
    [ -n "$baseline" ] || baseline=$ppl
    printf '{"bench": "quality", "model": "%s", "text": "%s", "ctx": 128, "metric": "ppl", "value": %s, "baseline": %s}\n' \
        "$name" "$text" "$ppl" "$baseline" >> build/bench.jsonl
    printf '%-28s %10.4f %10.4f %+11.2f%%\n' "$name" "$ppl" "$(field "$json" ppl_err)" \
        "$(echo "$ppl $baseline" | awk '{print 100 * ($1 / $2 - 1)}')"
done
