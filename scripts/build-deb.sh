#!/usr/bin/env bash
# Builds the Debian package (cargo deb) with a portable whisper.cpp and tests it:
#   1. build in target/deb-portable with GGML_NATIVE=OFF (the normal target/ stays untouched),
#   2. check the package's files and control data,
#   3. as root: install it, `systemd-analyze verify` and `security` the installed unit,
#      run --version and check-config (the shipped config, then with the test model in
#      place), compare the shipped config with the documented example, run the daemon as
#      user voiceflowd on the shipped config for one file, then purge the package and remove
#      what the test created.
# Without root only steps 1-2 run (plus verify/security on a copy of the unit).
# Needs the test model for step 3 (scripts/fetch-test-model.sh, run when it is missing).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
started=$SECONDS

export CARGO_TARGET_DIR=$repo/target/deb-portable
# whisper.cpp without -march=native. whisper-rs-sys passes every GGML_* variable to CMake
# (and .cargo/config.toml adds GGML_LLAMAFILE=ON).
export GGML_NATIVE=OFF
unit_src=packaging/voiceflowd.service
test_model=${VOICEFLOWD_MODEL_DIR:-$repo/models}/ggml-tiny.en-q8_0.bin

step() { echo; echo "--- $*"; }
die() { echo "build-deb: FAILED: $*" >&2; exit 1; }

is_root=false
[[ $(id -u) == 0 ]] && is_root=true

apt_install() {
  $is_root || die "$* missing and not root: install it (apt-get install $*)"
  echo "installing: $*"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

step "tools"
if ! command -v cargo-deb >/dev/null; then
  cargo install cargo-deb --locked
fi
command -v dpkg-deb >/dev/null || die "dpkg-deb not found (not a Debian system?)"
# systemd-analyze, systemd-sysusers and systemd-tmpfiles are in Debian's systemd package;
# it works here without systemd running as PID 1.
if ! command -v systemd-analyze >/dev/null; then
  apt_install systemd
fi
echo "cargo-deb $(cargo deb --version | awk '{print $NF}'), $(systemd-analyze --version | head -1)"

step "build (portable whisper.cpp, $CARGO_TARGET_DIR)"
# whisper-rs-sys does not rerun its CMake build when a GGML_* variable changes: a build dir
# once built with -march=native would stay native. Throw such a build away.
for cache in "$CARGO_TARGET_DIR"/release/build/whisper-rs-sys-*/out/build/CMakeCache.txt; do
  [[ -f $cache ]] || continue
  if ! grep -qx 'GGML_NATIVE:BOOL=OFF' "$cache"; then
    echo "stale native whisper.cpp build in $CARGO_TARGET_DIR: rebuilding it"
    cargo clean --release -p whisper-rs-sys
    break
  fi
done
build_started=$SECONDS
# cargo deb prints the paths of the .deb and of the -dbgsym .ddeb (debug info).
built=$(cargo deb --locked)
deb=$(grep '\.deb$' <<<"$built" | tail -n 1)
echo "built in $((SECONDS - build_started)) s:"
echo "$built"
[[ -f $deb ]] || die "cargo deb did not print the package path (got: $built)"
for cache in "$CARGO_TARGET_DIR"/release/build/whisper-rs-sys-*/out/build/CMakeCache.txt; do
  grep -qx 'GGML_NATIVE:BOOL=OFF' "$cache" || die "$cache: whisper.cpp was built with GGML_NATIVE on"
done
echo "whisper.cpp: $(grep -ho 'GGML_\(NATIVE\|AVX\|AVX2\|FMA\|F16C\|AVX512\|LLAMAFILE\):BOOL=[A-Z]*' \
  "$CARGO_TARGET_DIR"/release/build/whisper-rs-sys-*/out/build/CMakeCache.txt | sort -u | tr '\n' ' ')"

step "package contents (dpkg-deb -c)"
listing=$(dpkg-deb -c "$deb")
echo "$listing"
missing=()
for path in \
  ./usr/bin/voiceflowd \
  ./usr/lib/systemd/system/voiceflowd.service \
  ./usr/lib/sysusers.d/voiceflowd.conf \
  ./usr/lib/tmpfiles.d/voiceflowd.conf \
  ./etc/voiceflowd/config.toml \
  ./usr/share/doc/voiceflowd/README.md \
  ./usr/share/doc/voiceflowd/service.md \
  ./usr/share/doc/voiceflowd/copyright; do
  awk '{print $6}' <<<"$listing" | grep -qxF "$path" || missing+=("$path")
done
((${#missing[@]} == 0)) || die "missing from the package: ${missing[*]}"
grep -qE '^-rwxr-xr-x (root/root|0/0) .* \./usr/bin/voiceflowd$' <<<"$listing" ||
  die "/usr/bin/voiceflowd is not root-owned mode 755"
dpkg-deb -f "$deb" Package Version Architecture Depends Recommends
control=$(dpkg-deb --ctrl-tarfile "$deb" | tar -t)
for member in postinst prerm postrm conffiles; do
  grep -qxF "./$member" <<<"$control" || die "control member $member missing"
done
[[ $(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles) == /etc/voiceflowd/config.toml ]] ||
  die "conffiles is not exactly /etc/voiceflowd/config.toml"
echo "all expected paths present; conffiles: /etc/voiceflowd/config.toml"

# The systemd-analyze checks need the binary named by ExecStart.
analyze_unit() {
  local unit=$1
  step "systemd-analyze verify $unit"
  local out
  out=$(systemd-analyze verify --man=no "$unit" 2>&1) || die "systemd-analyze verify: $out"
  # Warnings about other units (e.g. in a container) do not fail the check; ours do.
  if grep -i 'voiceflowd' <<<"$out"; then
    die "systemd-analyze verify complains about the unit"
  fi
  echo "verify: ok${out:+ (other output: $out)}"

  step "systemd-analyze security --offline=yes $unit"
  # Exposure is 0.0 (locked down) .. 10.0; fail above 2.0 (it is 0.9 today).
  if ! systemd-analyze security --offline=yes --no-pager --threshold=20 "$unit" >"$tmp/security" 2>&1; then
    cat "$tmp/security"
    die "systemd-analyze security: exposure above 2.0 (or it failed)"
  fi
  grep -E '^✗' "$tmp/security" || true # the settings that still count against it
  grep -i 'overall exposure' "$tmp/security"
}

tmp=$(mktemp -d)
cleanup_steps=()
cleanup() {
  local rc=$?
  set +e
  local i
  for ((i = ${#cleanup_steps[@]} - 1; i >= 0; i--)); do eval "${cleanup_steps[i]}"; done
  rm -rf "$tmp"
  exit $rc
}
trap cleanup EXIT

if ! $is_root; then
  # Point ExecStart at the built binary so verify finds it.
  sed "s#/usr/bin/voiceflowd#$CARGO_TARGET_DIR/release/voiceflowd#" "$unit_src" >"$tmp/voiceflowd.service"
  analyze_unit "$tmp/voiceflowd.service"
  echo
  echo "not root: skipped the install test (dpkg -i, check-config, daemon smoke test)"
  echo "package: $deb"
  echo "build-deb finished in $((SECONDS - started)) s"
  exit 0
fi

step "install (dpkg -i)"
if dpkg-query -W -f '${Status}' voiceflowd 2>/dev/null | grep -q 'ok installed'; then
  die "voiceflowd is already installed on this machine: the test would replace and purge it"
fi
# Remember what exists, so the cleanup removes only what this test created.
existed=()
for p in /var/lib/voiceflowd /srv/voiceflowd; do [[ -e $p ]] && existed+=("$p"); done
getent passwd voiceflowd >/dev/null && existed+=(user)
remove_created() {
  local p
  for p in /var/lib/voiceflowd /srv/voiceflowd; do
    [[ " ${existed[*]} " == *" $p "* ]] || rm -rf "$p"
  done
  if [[ " ${existed[*]} " != *" user "* ]] && getent passwd voiceflowd >/dev/null; then
    userdel voiceflowd || echo "build-deb: warning: could not remove the user voiceflowd" >&2
    if getent group voiceflowd >/dev/null; then groupdel voiceflowd; fi
  fi
}
cleanup_steps+=("dpkg -P voiceflowd >/dev/null 2>&1; remove_created")
dpkg -i "$deb"
getent passwd voiceflowd || die "postinst did not create the user voiceflowd"
for d in /var/lib/voiceflowd /var/lib/voiceflowd/models /var/lib/voiceflowd/control \
  /srv/voiceflowd/inbox /srv/voiceflowd/outbox; do
  [[ -d $d && $(stat -c %U:%G "$d") == voiceflowd:voiceflowd ]] || die "$d missing or not owned by voiceflowd"
  stat -c '%A %U:%G %n' "$d"
done
[[ -x /usr/bin/voiceflowd ]] || die "/usr/bin/voiceflowd not installed"

analyze_unit /usr/lib/systemd/system/voiceflowd.service

step "voiceflowd --version"
/usr/bin/voiceflowd --version

step "check-config on the shipped config (no model yet)"
installed_model=/var/lib/voiceflowd/models/ggml-tiny.en-q8_0.bin
if [[ -e $installed_model ]]; then
  die "$installed_model exists before the test; refusing to touch it"
fi
set +e
/usr/bin/voiceflowd check-config --config /etc/voiceflowd/config.toml >"$tmp/out" 2>"$tmp/err"
rc=$?
set -e
cat "$tmp/err"
# Everything else is valid (folders exist): the model is the only thing a user must add.
[[ $rc == 78 ]] && grep -q 'model: model file does not exist' "$tmp/err" ||
  die "expected exit 78 'model file does not exist' for the shipped config, got exit $rc"
echo "as expected: the shipped config is valid except for the model the user must import"

step "check-config with the test model in place (as user voiceflowd)"
if [[ ! -s $test_model ]]; then
  # Not with the portable target dir: the script builds a debug binary for the import.
  env -u CARGO_TARGET_DIR -u GGML_NATIVE scripts/fetch-test-model.sh
fi
install -m 0644 "$test_model" "$installed_model"
# An array, not a function: run in the background, $! must be the daemon itself.
as_voiceflowd=(setpriv --reuid=voiceflowd --regid=voiceflowd --init-groups)
"${as_voiceflowd[@]}" /usr/bin/voiceflowd check-config --config /etc/voiceflowd/config.toml >"$tmp/shipped" ||
  die "check-config failed on the shipped config with the model in place"

step "shipped config == documented example (effective config)"
# The example states every default explicitly, the shipped config leaves them commented out:
# both must give the same effective configuration.
/usr/bin/voiceflowd check-config --config config/voiceflowd.toml >"$tmp/example" 2>/dev/null ||
  die "check-config failed on config/voiceflowd.toml"
diff -u "$tmp/example" "$tmp/shipped" || die "packaging/config.toml drifted from config/voiceflowd.toml"
echo "same effective configuration"

step "smoke test: the daemon as user voiceflowd on the shipped config"
# sd_notify listener: prints every datagram (READY=1, STOPPING=1, WATCHDOG=1, STATUS=...).
chmod 0755 "$tmp"
cat >"$tmp/notify.py" <<'EOF'
import os, socket, sys
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o777)
while True:
    msg = s.recv(4096).decode(errors="replace")
    print(msg.replace("\n", " "), flush=True)
EOF
python3 "$tmp/notify.py" "$tmp/notify.sock" >"$tmp/notify.log" 2>&1 &
notify_pid=$!
cleanup_steps+=("kill $notify_pid 2>/dev/null; wait $notify_pid 2>/dev/null")
for _ in $(seq 50); do [[ -S $tmp/notify.sock ]] && break; sleep 0.1; done
[[ -S $tmp/notify.sock ]] || die "notify listener did not start"
# The unit's UMask and a 4 s watchdog; logs go to stderr (no JOURNAL_STREAM).
"${as_voiceflowd[@]}" env -i PATH=/usr/bin:/bin NOTIFY_SOCKET="$tmp/notify.sock" WATCHDOG_USEC=4000000 \
  sh -c 'umask 0027; exec /usr/bin/voiceflowd run --config /etc/voiceflowd/config.toml' \
  >"$tmp/daemon.log" 2>&1 &
daemon_pid=$!
# Evaluated at exit: daemon_pid is cleared once the daemon has exited.
cleanup_steps+=('[[ -n $daemon_pid ]] && kill -KILL "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null')
wait_for() { # seconds, description, command...
  local secs=$1 what=$2
  shift 2
  for _ in $(seq $((secs * 10))); do
    "$@" && return 0
    kill -0 "$daemon_pid" 2>/dev/null || { cat "$tmp/daemon.log"; die "daemon exited while waiting for $what"; }
    sleep 0.1
  done
  cat "$tmp/daemon.log"
  die "timed out waiting for $what"
}
wait_for 60 READY=1 grep -q 'READY=1' "$tmp/notify.log"
echo "READY=1 received"
# A batch dropped by a member of the voiceflowd group.
mkdir "$tmp/smoke"
if command -v espeak-ng >/dev/null; then
  espeak-ng -w "$tmp/smoke/hello.wav" "Hello world, this is a test of the voice flow package." 2>/dev/null
else
  python3 -c 'import wave,sys; w=wave.open(sys.argv[1],"wb"); w.setnchannels(1); w.setsampwidth(2); w.setframerate(16000); w.writeframes(b"\0\0"*16000)' "$tmp/smoke/hello.wav"
fi
chgrp -R voiceflowd "$tmp/smoke"
chmod -R g+rwX "$tmp/smoke"
mv "$tmp/smoke" /srv/voiceflowd/inbox/smoke
wait_for 120 "outbox/smoke/DONE" test -e /srv/voiceflowd/outbox/smoke/DONE
echo "transcript: $(cat /srv/voiceflowd/outbox/smoke/hello.txt)"
[[ -e /var/lib/voiceflowd/archive/inbox/smoke/hello.wav ]] || die "original not archived to /var/lib/voiceflowd/archive/inbox/smoke/"
[[ ! -e /srv/voiceflowd/inbox/smoke ]] || die "emptied batch folder left in the inbox"
ls -l /srv/voiceflowd/outbox/smoke
kill -TERM "$daemon_pid"
set +e
wait "$daemon_pid"
rc=$?
set -e
daemon_pid=
[[ $rc == 0 ]] || { cat "$tmp/daemon.log"; die "daemon exit code $rc after SIGTERM"; }
grep -q 'STOPPING=1' "$tmp/notify.log" || die "no STOPPING=1 on SIGTERM"
echo "stopped cleanly on SIGTERM (exit 0, STOPPING=1 sent)"
if grep -q 'WATCHDOG=1' "$tmp/notify.log"; then
  echo "WATCHDOG=1 received"
else
  echo "WARNING: no WATCHDOG=1 within WATCHDOG_USEC: under the unit's WatchdogSec=60 systemd would kill the daemon every minute"
fi
echo "notify messages: $(sort -u "$tmp/notify.log" | tr '\n' '|')"

step "remove (dpkg -P)"
rm -f "$installed_model"
dpkg -P voiceflowd
[[ ! -e /usr/bin/voiceflowd && ! -e /etc/voiceflowd/config.toml && ! -e /usr/lib/systemd/system/voiceflowd.service ]] ||
  die "package files left after purge"
remove_created
echo "purged; removed the user, /var/lib/voiceflowd and /srv/voiceflowd created by the test"

echo
echo "package: $deb ($(du -h "$deb" | cut -f1))"
echo "build-deb finished in $((SECONDS - started)) s"
