#!/bin/sh
# A generated BitNet binary given GGUF files that do not match its
# description, or damaged ones, must refuse each with one line naming the
# file and the tensor or key, and exit non-zero (not by a signal) within
# 20 s.
#   tests/bad_model_bitnet.sh build/bitnet-tiny/bitnet-tiny build/tools/mkmodel DATA_DIR
# The mismatched files are made by mkmodel from variants of
# models/bitnet-tiny.lua written to a temporary folder; the damaged ones
# are its I2_S and --scales files with bytes patched where
# tests/gguf_tensor.lua finds a tensor.
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
"$mkmodel" "$top/models/bitnet-tiny.lua" --gen "$top/gen" --seed 1 --type i2_s -o "$tmp/i2s.gguf" 2> "$tmp/mkmodel.log" \
    && "$mkmodel" "$top/models/bitnet-tiny.lua" --gen "$top/gen" --seed 1 --scales -o "$tmp/scales.gguf" \
        2> "$tmp/mkmodel.log" || { cat "$tmp/mkmodel.log"; exit 1; }
variant llama 's/arch = "bitnet"/arch = "llama"/'
variant wide "s/dim = 256/dim = 512/"
variant deep 's/n_layers = 2/n_layers = 3/'
variant untied 's/tied_embedding = true/tied_embedding = false/'
variant theta 's/rope_theta = 500000.0/rope_theta = 10000.0/'
variant silu 's/activation = "relu2"/activation = "silu"/'

# runs "what" FILE: the binary runs on FILE.
runs() {
    if timeout 60 "$bin" -m "$2" --bench --prompt-tokens 4 --gen-tokens 2 -t 1 > "$tmp/out" 2> "$tmp/err"; then
        echo "ok   $1 runs"
        passed=$((passed + 1))
    else
        echo "FAIL $1: $(cat "$tmp/err")"
        failed=$((failed + 1))
    fi
}

# damaged SOURCE COPY TENSOR WHERE BYTES: COPY is SOURCE with BYTES (printf
# escapes) written at TENSOR's data (WHERE = data) or dimensions (ne) plus
# the offset that follows.
damaged() {
    cp "$1" "$2"
    at=$(lua5.4 "$top/tests/gguf_tensor.lua" "$1" "$3") || exit 1
    case $4 in
        ne) at=${at%%[!0-9]*} ;;
        data) at=${at##*[!0-9]} ;;
    esac
    printf "$6" | dd of="$2" bs=1 seek=$((at + $5)) conv=notrunc 2> /dev/null
}

runs "matching file" "$tmp/good.gguf"
runs "I2_S file" "$tmp/i2s.gguf"
runs "file with NAME.scale tensors" "$tmp/scales.gguf"
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

# I2_S: blk.0.attn_q.weight is 256 x 256, 16384 bytes of codes then its scale;
# blk.1.ffn_down.weight, 256 x 512, is the last I2_S tensor (32768 bytes of codes).
q=blk.0.attn_q.weight
damaged "$tmp/i2s.gguf" "$tmp/code3.gguf" $q data 0 '\377'
expect "I2_S code 3" "code3\.gguf: tensor '$q': I2_S block 0 holds code 3" "$tmp/code3.gguf"
damaged "$tmp/i2s.gguf" "$tmp/nan.gguf" $q data 16384 '\000\000\300\177'
expect "I2_S NaN scale" "nan\.gguf: tensor '$q': I2_S scale nan is not a finite number" "$tmp/nan.gguf"
damaged "$tmp/i2s.gguf" "$tmp/negative.gguf" $q data 16387 '\277'
expect "I2_S negative scale" "negative\.gguf: tensor '$q': I2_S scale -" "$tmp/negative.gguf"
# ne = {64, 1024}: the same count, rows of 64
damaged "$tmp/i2s.gguf" "$tmp/rows64.gguf" $q ne 0 '\100\000\000\000\000\000\000\000\000\004\000\000\000\000\000\000'
expect "I2_S rows of 64" "rows64\.gguf: tensor '$q': row length 64 is not a multiple of the I2_S block size 128" \
    "$tmp/rows64.gguf"
down=blk.1.ffn_down.weight
at=$(lua5.4 "$top/tests/gguf_tensor.lua" "$tmp/i2s.gguf" $down) || exit 1
head -c $((${at##*[!0-9]} + 32768 + 2)) "$tmp/i2s.gguf" > "$tmp/noscale.gguf"
expect "I2_S scale cut off" "noscale\.gguf: tensor '$down' data .* lies outside the file" "$tmp/noscale.gguf"
damaged "$tmp/scales.gguf" "$tmp/nanscale.gguf" blk.0.attn_q.scale data 0 '\000\000\300\177'
expect "NaN scale tensor" "nanscale\.gguf: tensor 'blk\.0\.attn_q\.scale' is nan, not a finite scale" \
    "$tmp/nanscale.gguf"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
