#!/usr/bin/env bash
# Installs every Debian 12 package that building, running and testing Tastemaker need.
# Idempotent: when everything is present it only checks (well under a second) and installs nothing.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config ccache lld git ca-certificates dpkg-dev
  qt6-base-dev qt6-base-dev-tools libqt6opengl6-dev qt6-charts-dev libgl-dev
  libtorch-dev libgloo-dev libopenblas0-openmp
  portaudio19-dev libsndfile1-dev libsamplerate0-dev
  libsentencepiece-dev sentencepiece
  nlohmann-json3-dev zlib1g-dev
  xvfb xauth x11-utils imagemagick pulseaudio pulseaudio-utils libasound2-plugins
  libgtest-dev clang libclang-rt-14-dev clang-format
  fluidsynth libfluidsynth-dev fluid-soundfont-gm timgm6mb-soundfont espeak-ng libespeak-ng-dev
  libebur128-dev nettle-dev sox
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# Sentencepiece is built from Debian's source package (see packaging/build-sentencepiece.sh), so a
# deb-src entry for bookworm must exist.
SRC_LIST=/etc/apt/sources.list.d/tastemaker-deb-src.sources
need_src=0
if ! grep -rqs '^Types:.*deb-src\|^deb-src ' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  need_src=1
fi

if [[ ${#missing[@]} -eq 0 && $need_src -eq 0 ]]; then
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi

if [[ $need_src -eq 1 ]]; then
  echo "install-deps: adding a deb-src entry for bookworm ($SRC_LIST)"
  $SUDO tee "$SRC_LIST" >/dev/null <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi

echo "install-deps: installing ${missing[*]:-(nothing; refreshing sources)}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
if [[ ${#missing[@]} -gt 0 ]]; then
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
