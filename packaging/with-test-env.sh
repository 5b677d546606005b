#!/usr/bin/env bash
# Runs a command inside what the tests need on a machine with no display and no sound card:
# Qt's offscreen platform, an Xvfb display for screenshot tests, and a user-level PulseAudio with a
# null sink (its monitor can be recorded with parecord). Everything started here is stopped on exit.
set -uo pipefail
export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen}
export XDG_RUNTIME_DIR=$(mktemp -d)
chmod 700 "$XDG_RUNTIME_DIR"
pids=()
cleanup() {
  pactl exit >/dev/null 2>&1 || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$XDG_RUNTIME_DIR"
}
trap cleanup EXIT

if command -v Xvfb >/dev/null; then
  for n in $(seq 90 120); do
    if [[ ! -e /tmp/.X11-unix/X$n && ! -e /tmp/.X$n-lock ]]; then
      Xvfb ":$n" -screen 0 1600x1000x24 -nolisten tcp >/dev/null 2>&1 &
      pids+=($!)
      export TM_XVFB_DISPLAY=":$n"
      break
    fi
  done
fi

if command -v pulseaudio >/dev/null; then
  pulseaudio --daemonize=yes --exit-idle-time=-1 -n \
    --load="module-null-sink sink_name=ci_sink rate=48000 norewinds=1" \
    --load="module-native-protocol-unix" >/dev/null 2>&1
  for _ in $(seq 1 100); do pactl info >/dev/null 2>&1 && break; sleep 0.1; done
  if pactl info >/dev/null 2>&1; then
    pactl set-default-sink ci_sink
    export TM_PULSE_SINK=ci_sink
  else
    echo "with-test-env: PulseAudio did not start; audio device tests will skip" >&2
  fi
fi

"$@"
