#!/bin/sh
# A generated BitNet binary given GGUF files that do not match its
# description must refuse each with one line naming the file and the
# tensor or key, and exit non-zero (not by a signal) within 20 s.
#   tests/bad_model_bitnet.sh build/bitnet-tiny/bitnet-tiny build/tools/mkmodel DATA_DIR
# The mismatched files are made by mkmodel from variants of
# models/bitnet-tiny.lua written to a temporary folder.
set -u
bin=$1
mkmodel=$2
data=$3
top=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

# expect "what" PATTERN FILE: running on FILE fails, stderr matches PATTERN (grep -E).
expect() {
    what=$1 pattern=$2 file=$3
    timeout 20 "$bin" -m "$file" --bench --prompt-tokens 4 --gen-tokens 2 -t 1 > "$tmp/out" 2> "$tmp/err" < /dev/null
    status=$?
    lines=$(wc -l < "$tmp/err")
    if [ $status -ne 0 ] && [ $status -lt 124 ] && [ "$lines" -eq 1 ] && grep -Eq -e "$pattern" "$tmp/err"; then
        echo "ok   $what: $(cat "$tmp/err")"
        passed=$((passed + 1))
    else
        echo "FAIL $what: exit $status, $lines stderr lines, expected /$pattern/:"
        sed 's/^/    /' "$tmp/err"
        failed=$((failed + 1))
    fi
}

# variant NAME SED-SCRIPT: a description derived from bitnet-tiny, as a GGUF.
variant() {
    sed -e "s/name = \"bitnet-tiny\"/name = \"$1\"/" -e "$2" "$top/models/bitnet-tiny.lua" > "$tmp/$1.lua"
    "$mkmodel" "$tmp/$1.lua" --gen "$top/gen" --seed 1 -o "$tmp/$1.gguf" 2> "$tmp/mkmodel.log" \
        || { cat "$tmp/mkmodel.log"; exit 1; }
}

variant good 's/x/x/'
variant llama 's/arch = "bitnet"/arch = "llama"/'
variant wide "s/dim = 256/dim = 512/"
variant deep 's/n_layers = 2/n_layers = 3/'
variant untied 's/tied_embedding = true/tied_embedding = false/'
variant theta 's/rope_theta = 500000.0/rope_theta = 10000.0/'
variant silu 's/activation = "relu2"/activation = "silu"/'

# the matching file runs
if timeout 60 "$bin" -m "$tmp/good.gguf" --bench --prompt-tokens 4 --gen-tokens 2 -t 1 > "$tmp/out" 2> "$tmp/err"; then
    echo "ok   matching file runs"
    passed=$((passed + 1))
else
    echo "FAIL matching file: $(cat "$tmp/err")"
    failed=$((failed + 1))
fi
expect "llama file" "llama\.gguf: general\.architecture is 'llama' but model bitnet-tiny \(bitnet, relu2 FFN\) reads bitnet-b1\.58 or bitnet-25 files" "$tmp/llama.gguf"
expect "SiLU BitNet file" "silu\.gguf: general\.architecture is 'bitnet' but model bitnet-tiny \(bitnet, relu2 FFN\)" "$tmp/silu.gguf"
expect "other width" "wide\.gguf: bitnet-b1\.58\.embedding_length is 512 but model bitnet-tiny has 256" "$tmp/wide.gguf"
expect "other depth" "deep\.gguf: bitnet-b1\.58\.block_count is 3 but model bitnet-tiny has 2" "$tmp/deep.gguf"
expect "untied head" "untied\.gguf: tensor 'output\.weight' differs from 'token_embd\.weight' but model bitnet-tiny ties" "$tmp/untied.gguf"
expect "other RoPE base" "theta\.gguf: bitnet-b1\.58\.rope\.freq_base is 10000 but model bitnet-tiny has 500000" "$tmp/theta.gguf"
expect "llama2.c checkpoint" "stories260K\.bin: general\.architecture is 'llama'" "$data/stories260K.bin"
# the same file with the FFN sub-norms renamed (same length, so still a valid GGUF)
LC_ALL=C sed 's/ffn_sub_norm\.weight/ffn_sub_norX.weight/g' "$tmp/good.gguf" > "$tmp/renamed.gguf"
expect "unknown tensor" "renamed\.gguf: tensor 'blk\.0\.ffn_sub_norX\.weight' is not part of model bitnet-tiny" \
    "$tmp/renamed.gguf"
size=$(wc -c < "$tmp/good.gguf")
head -c $((size - 1000)) "$tmp/good.gguf" > "$tmp/truncated.gguf"
expect "truncated file" "truncated\.gguf" "$tmp/truncated.gguf"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
