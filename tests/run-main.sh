#!/bin/sh
# The main job (`ninja run`): stories260k, a real trained model, on its
# default prompt.  When its data is missing, a synthetic model at a real
# shape (bitnet-b1.58-large, weights from build/tools/mkmodel) runs instead:
# its text is meaningless, its speed is real.
#   tests/run-main.sh DATA_DIR
set -eu
data=$1
if [ -f "$data/stories260K.bin" ] && [ -f "$data/tok512.bin" ]; then
    exec build/stories260k/stories260k -p "Once upon a time" -n 200
fi
name=bitnet-b1.58-large
gguf=build/models/$name.gguf
echo "ryot: $data/stories260K.bin (or tok512.bin) not found; running $name on synthetic weights instead."
echo "ryot: the weights are random, so the text below is meaningless; the speed is real."
if [ ! -f "$gguf" ] || [ "$gguf" -ot build/tools/mkmodel ]; then
    mkdir -p build/models
    build/tools/mkmodel "models/$name.lua" --seed 1 -o "$gguf.tmp" 2> "$gguf.log" || { cat "$gguf.log"; exit 1; }
    mv "$gguf.tmp" "$gguf"
fi
exec "build/$name/$name" -m "$gguf" -p "Once upon a time" -n 128
