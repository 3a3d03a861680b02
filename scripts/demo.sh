#!/usr/bin/env bash
# Runs voiceflowd on an example inbox in ./demo: fetches the tiny.en test model if needed,
# drops one example batch into demo/inbox, and runs the daemon in the foreground (Ctrl-C stops).
# Drop more folders of audio into demo/inbox while it runs; results appear in demo/outbox.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
demo=$repo/demo
"$repo/scripts/fetch-test-model.sh"
mkdir -p "$demo/inbox" "$demo/outbox" "$demo/state"
cat > "$demo/config.toml" <<TOML
state_dir = "$demo/state"
model = "$repo/models/ggml-tiny.en-q8_0.bin"
settle_seconds = 2.0

[[inbox]]
name = "demo"
path = "$demo/inbox"
outbox = "$demo/outbox"
archive = "$demo/archive"
TOML
batch=$demo/inbox/example-$(date +%H%M%S)
mkdir -p "$batch.tmp"
corpus=$repo/../shared/corpus
if [[ -d $corpus ]]; then
  cp "$corpus/jfk.mp3" "$corpus/new-home-in-the-stars-16k.wav" "$batch.tmp/"
elif command -v espeak-ng >/dev/null; then
  espeak-ng -w "$batch.tmp/hello.wav" "Hello from voiceflowd. This file was spoken by espeak."
fi
mv "$batch.tmp" "$batch"
echo "example batch dropped: $batch"
echo "watch it: cat $demo/outbox/$(basename "$batch")/status.json"
cargo build --quiet --manifest-path "$repo/Cargo.toml" --bin voiceflowd
exec "${CARGO_TARGET_DIR:-$repo/target}/debug/voiceflowd" run --config "$demo/config.toml"
