#!/bin/sh
# Bad input to a generated binary: each case must exit non-zero (not by a
# signal) within 20 s, with one line on stderr that names the problem.
#   tests/bad_input.sh build/stories260k/stories260k DATA_DIR
set -u
bin=$1
data=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

# expect "what" PATTERN CMD...: stderr must match PATTERN (grep -E).
expect() {
    what=$1 pattern=$2
    shift 2
    timeout 20 "$@" > "$tmp/out" 2> "$tmp/err" < /dev/null
    status=$?
    lines=$(wc -l < "$tmp/err")
    if [ $status -ne 0 ] && [ $status -lt 124 ] && [ "$lines" -eq 1 ] && grep -Eq -- "$pattern" "$tmp/err"; then
        echo "ok   $what: $(cat "$tmp/err")"
        passed=$((passed + 1))
    else
        echo "FAIL $what: exit $status, $lines stderr lines, expected /$pattern/:"
        sed 's/^/    /' "$tmp/err"
        failed=$((failed + 1))
    fi
}

ckpt=$data/stories260K.bin
tok=$data/tok512.bin
size=$(wc -c < "$ckpt")

head -c $((size / 2)) "$ckpt" > "$tmp/truncated.bin"
head -c 10 "$ckpt" > "$tmp/tiny.bin"
cp "$ckpt" "$tmp/long.bin" && printf 'xxxx' >> "$tmp/long.bin"
# header with dim = -64
{ printf '\300\377\377\377'; tail -c +5 "$ckpt"; } > "$tmp/badheader.bin"
# a valid llama2.c checkpoint of another shape: dim 32, hidden 64, 1 layer,
# 4 heads, 4 kv heads, vocab 512, seq 16
lua5.4 - "$tmp/other.bin" <<'LUA'
  local f = io.open(arg[1], "wb")
  local dim, hidden, layers, heads, kv, vocab, seq = 32, 64, 1, 4, 4, 512, 16
  f:write(string.pack("<i4i4i4i4i4i4i4", dim, hidden, layers, heads, kv, vocab, seq))
  local hs = dim // heads
  local floats = vocab * dim + layers * (2 * dim + 4 * dim * dim + 3 * dim * hidden) + dim + seq * hs
  f:write(string.rep(string.pack("<f", 0.01), floats))
  f:close()
LUA
head -c 100 "$tok" > "$tmp/truncated_tok.bin"
mkdir "$tmp/empty"
mkfifo "$tmp/fifo"
long_prompt=$(i=0; while [ $i -lt 700 ]; do printf 'once upon a time '; i=$((i + 1)); done)

expect "missing weights file" "nope\.bin" "$bin" -m "$tmp/nope.bin" -z "$tok"
expect "weights file is a directory" "$tmp" "$bin" -m "$tmp" -z "$tok"
expect "weights file is a FIFO" "fifo: not a regular file" "$bin" -m "$tmp/fifo" -z "$tok"
expect "truncated weights" "truncated|expected" "$bin" -m "$tmp/truncated.bin" -z "$tok"
expect "file too small for a header" "tiny\.bin" "$bin" -m "$tmp/tiny.bin" -z "$tok"
expect "trailing bytes after the weights" "long\.bin" "$bin" -m "$tmp/long.bin" -z "$tok"
expect "corrupt header" "badheader\.bin" "$bin" -m "$tmp/badheader.bin" -z "$tok"
expect "checkpoint of another model" "other\.bin.*(embedding_length|dim)" "$bin" -m "$tmp/other.bin" -z "$tok"
expect "missing tokenizer" "nope_tok" "$bin" -m "$ckpt" -z "$tmp/nope_tok.bin"
expect "truncated tokenizer" "truncated_tok" "$bin" -m "$ckpt" -z "$tmp/truncated_tok.bin"
expect "default files missing from the data folder" "stories260K\.bin.*$tmp/empty" env RYOT_DATA="$tmp/empty" "$bin"
expect "unknown flag" "unknown option '--frobnicate'" "$bin" --frobnicate
expect "flag without value" "'-n' needs a value" "$bin" -n
expect "bad -n" "-n expects an integer" "$bin" -m "$ckpt" -z "$tok" -n abc
expect "bad -t" "-t expects an integer" "$bin" -m "$ckpt" -z "$tok" -t 0
expect "bad --temp" "--temp expects a number" "$bin" -m "$ckpt" -z "$tok" --temp -1
expect "bad --top-p" "--top-p expects a number" "$bin" -m "$ckpt" -z "$tok" --top-p 1.5
expect "stray argument" "unexpected argument" "$bin" hello
expect "invalid UTF-8 in the prompt" "UTF-8" "$bin" -m "$ckpt" -z "$tok" -p "$(printf 'bad \377 byte')"
expect "prompt longer than the context" "context" "$bin" -m "$ckpt" -z "$tok" -p "$long_prompt"
expect "prompt plus -n beyond the context" "exceeds the context" "$bin" -m "$ckpt" -z "$tok" -p "hi" -n 600

# the checkpoint with its final norm weights at 3e38: finite, so it loads,
# but the normalized activations overflow and the logits are not numbers
lua5.4 - "$ckpt" "$tmp/overflow.bin" <<'LUA'
  local src = assert(io.open(arg[1], "rb")):read("a")
  local dim, hidden, layers, heads, kv, vocab = string.unpack("<i4i4i4i4i4i4", src)
  local kv_dim = dim // heads * kv
  local floats = math.abs(vocab) * dim + layers * (2 * dim + 2 * dim * dim + 2 * dim * kv_dim + 3 * dim * hidden)
  local at = 28 + 4 * floats  -- rms_final
  local f = io.open(arg[2], "wb")
  f:write(src:sub(1, at), string.rep(string.pack("<f", 3e38), dim), src:sub(at + 4 * dim + 1))
  f:close()
LUA
expect "logits that overflow at run time" "position 1: the model's logits are not finite" "$bin" -m "$tmp/overflow.bin" -z "$tok" -p "Once" -n 4
expect "output to a full disk" "cannot write the output: No space left on device" sh -c "\"\$0\" -m \"\$1\" -z \"\$2\" -p Once -n 8 > /dev/full" "$bin" "$ckpt" "$tok"
# more threads than CPUs: a warning, and the run goes on with the CPUs there are
if timeout 20 "$bin" -m "$ckpt" -z "$tok" -p "Once" -n 4 -t 100000 > "$tmp/out" 2> "$tmp/err" \
    && grep -q "warning: -t 100000 is more than the [0-9]* CPUs\{0,1\} this process may use" "$tmp/err"; then
    echo "ok   -t beyond the CPU count: $(head -n 1 "$tmp/err")"
    passed=$((passed + 1))
else
    echo "FAIL -t beyond the CPU count: exit $?, stderr:"
    sed 's/^/    /' "$tmp/err"
    failed=$((failed + 1))
fi

printf 'Once upon a time' > "$tmp/short.txt"
printf 'text \000 with a NUL' > "$tmp/nul.txt"
printf 'bad \377 byte' > "$tmp/badutf8.txt"
mkfifo "$tmp/fifo.txt"
expect "perplexity of a missing file" "nope\.txt.*cannot open" "$bin" -m "$ckpt" -z "$tok" --perplexity "$tmp/nope.txt"
expect "perplexity of a directory" "is a directory" "$bin" -m "$ckpt" -z "$tok" --perplexity "$tmp/empty"
expect "perplexity of a FIFO" "fifo\.txt: not a regular file" "$bin" -m "$ckpt" -z "$tok" --perplexity "$tmp/fifo.txt"
expect "perplexity of a text with a NUL byte" "nul\.txt: contains a NUL byte" "$bin" -m "$ckpt" -z "$tok" --perplexity "$tmp/nul.txt"
expect "perplexity of invalid UTF-8" "badutf8\.txt: invalid UTF-8" "$bin" -m "$ckpt" -z "$tok" --perplexity "$tmp/badutf8.txt"
expect "perplexity of a text shorter than two chunks" "needs at least 1024" "$bin" -m "$ckpt" -z "$tok" --perplexity "$tmp/short.txt"
expect "perplexity context beyond the model's" "-c expects an integer in \[4, 512\]" "$bin" -m "$ckpt" -z "$tok" --perplexity "$tmp/short.txt" -c 513
expect "-c without --perplexity" "go with --perplexity" "$bin" -m "$ckpt" -z "$tok" -c 64
expect "perplexity stride as large as the context" "stride 64 must be in \[1, 64\)" "$bin" -m "$ckpt" -z "$tok" --perplexity "$tmp/short.txt" -c 64 --ppl-stride 64

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
