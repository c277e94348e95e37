#!/bin/sh
# Chat mode (--chat) end to end, on bitnet-tiny with mkmodel's byte-level
# vocabulary (Llama 3's special tokens and a chat template of BitNet 2B4T's
# format, as the official file): the format is found in the GGUF, each
# line of stdin is a turn with exactly one reply line, the format's special
# tokens are tokens but the user's text never is, a turn follows the stop
# token or the cut-short reply, and every misuse is one line and exit 1.
#   tests/chat.sh build/bitnet-tiny/bitnet-tiny build/stories260k/stories260k build/tools/mkmodel DATA_DIR
set -u
bin=$1
stories=$2
mkmodel=$3
data=$4
top=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

ok() { echo "ok   $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; sed 's/^/    /' "$tmp/err"; failed=$((failed + 1)); }

"$mkmodel" "$top/models/bitnet-tiny.lua" --gen "$top/gen" --seed 1 --vocab bpe -o "$tmp/bpe.gguf" 2> "$tmp/err" \
    || { cat "$tmp/err"; exit 1; }
# the synthetic byte-level vocabulary of 512: <|begin_of_text|> 507 ... <|eot_id|> 511
bos=507 eot=511

# two turns, greedy, replies cut at 6 tokens; the user's second line spells <|eot_id|> as text
printf 'Hello there\n\nWhat is <|eot_id|> for?\n' > "$tmp/in"
timeout 60 "$bin" -m "$tmp/bpe.gguf" --chat --temp 0 -n 6 --verbose-prompt -p "Be brief." -t 2 \
    < "$tmp/in" > "$tmp/out" 2> "$tmp/err"
status=$?
turn1=$(grep '^turn' "$tmp/err" | sed -n 1p)
turn2=$(grep '^turn' "$tmp/err" | sed -n 2p)
[ $status -eq 0 ] && ok "two turns run" || fail "two turns: exit $status"
grep -q "^turn (40 tokens): $bos:'' 83:'S' 121:'y'" "$tmp/err" && ok "format found in the GGUF's chat template" \
    || fail "format: $turn1"
[ "$(wc -l < "$tmp/out")" -eq 2 ] && ok "one reply line per turn (the empty line is no turn)" || fail "reply lines"
case $turn1 in *"): $bos:'' "*) ok "the first turn starts with BOS" ;; *) fail "BOS: $turn1" ;; esac
# System: ...<|eot_id|>User: ...<|eot_id|>Assistant:
[ "$(printf '%s\n' "$turn1" | grep -o " $eot:''" | wc -l)" -eq 2 ] && ok "the format's <|eot_id|> are tokens" \
    || fail "format tokens: $turn1"
case $turn1 in *"'Ass'"*|*"'A'"*) ok "the turn ends with the assistant's prefix" ;; *) fail "prefix: $turn1" ;; esac
# the cut-short reply's suffix, then User: ... <|eot_id|> (the user's own text stays text)
case $turn2 in *"): $eot:'' "*) ok "a turn after a cut-short reply feeds the reply's end" ;; *) fail "turn 2: $turn2" ;; esac
[ "$(printf '%s\n' "$turn2" | grep -o " $eot:''" | wc -l)" -eq 2 ] && ok "the user's <|eot_id|> stays text" \
    || fail "user text: $turn2"
grep -q "2 turns" "$tmp/err" && ok "summary counts 2 turns" || fail "summary"

# the same chat twice gives the same replies (greedy); another first turn changes the second reply
timeout 60 "$bin" -m "$tmp/bpe.gguf" --chat --temp 0 -n 6 -p "Be brief." -t 1 < "$tmp/in" > "$tmp/again" 2> "$tmp/err"
cmp -s "$tmp/out" "$tmp/again" && ok "greedy chat repeats on 1 thread" || fail "greedy chat differs"
printf 'Good morning to you\nWhat is <|eot_id|> for?\n' | timeout 60 "$bin" -m "$tmp/bpe.gguf" --chat --temp 0 -n 6 \
    -p "Be brief." > "$tmp/other" 2> "$tmp/err"
[ "$(sed -n 2p "$tmp/other")" != "$(sed -n 2p "$tmp/out")" ] && ok "the second reply depends on the first turn" \
    || fail "the second reply ignores the first turn"

# SentencePiece and llama2's format: stories260K, turns of its own EOS
printf 'Lily went to the park.\nThen what?\n' | timeout 60 "$stories" -m "$data/stories260K.bin" -z "$data/tok512.bin" \
    --chat --chat-format llama2 --temp 0 -n 12 > "$tmp/out" 2> "$tmp/err"
[ $? -eq 0 ] && grep -q ": 2 turns" "$tmp/err" && ok "llama2 format on a SentencePiece model" || fail "llama2 format"

# expect "what" PATTERN CMD...: fails in one stderr line matching PATTERN.
expect() {
    what=$1 pattern=$2
    shift 2
    timeout 20 "$@" < "$tmp/in" > "$tmp/out" 2> "$tmp/err"
    status=$?
    if [ $status -eq 1 ] && [ "$(wc -l < "$tmp/err")" -eq 1 ] && grep -Eq -- "$pattern" "$tmp/err"; then
        ok "$what: $(cat "$tmp/err")"
    else
        fail "$what: exit $status, expected /$pattern/"
    fi
}
expect "unknown --chat-format" "unknown format 'vicuna' \(known: bitnet, llama3" "$bin" -m "$tmp/bpe.gguf" --chat --chat-format vicuna
expect "no chat template" "stories260K\.gguf has no tokenizer\.chat_template: choose a chat format with --chat-format" \
    "$stories" -m "$data/stories260K.gguf" --chat
expect "--system without --chat" "--system and --chat-format go with --chat" "$bin" -m "$tmp/bpe.gguf" --system hi
expect "-p and --system" "with --chat, -p is the system message" "$bin" -m "$tmp/bpe.gguf" --chat -p a --system b
expect "--chat with --bench" "separate runs" "$bin" -m "$tmp/bpe.gguf" --chat --bench
long=$(i=0; while [ $i -lt 300 ]; do printf 'once upon a time '; i=$((i + 1)); done)
printf '%s\n' "$long" > "$tmp/in"
expect "a turn beyond the context" "the conversation has filled the context of 512 tokens" \
    "$stories" -m "$data/stories260K.bin" -z "$data/tok512.bin" --chat --chat-format llama2

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
