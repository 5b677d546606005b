#!/usr/bin/env bash
# Builds sentencepiece 0.1.97 from Debian's source package as a static, position-independent library
# and installs its header and archive under PREFIX.
#
# Why: Debian's libsentencepiece.so.0 embeds and exports its own protobuf-lite 3.14. Loaded into one
# process with libtorch (which pulls in the system protobuf 3.21) the two clash and the process crashes
# before main(). A static archive linked with -Wl,--exclude-libs,ALL keeps sentencepiece's protobuf
# private to our binary, works under ASan (unlike a dlopen(RTLD_DEEPBIND) shim), and needs no runtime
# path to a plug-in. Nothing third-party is committed: the source comes from Debian at set-up time.
set -euo pipefail
PREFIX=${1:?usage: build-sentencepiece.sh PREFIX}
VERSION=0.1.97
STAMP="$PREFIX/.tastemaker-sentencepiece-$VERSION"
if [[ -f $STAMP && -f $PREFIX/lib/libsentencepiece.a ]]; then exit 0; fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "build-sentencepiece: fetching Debian's sentencepiece source into $work"
(cd "$work" && apt-get source -qq "sentencepiece=$VERSION-3" >/dev/null 2>&1 || apt-get source -qq sentencepiece >/dev/null)
src=$(find "$work" -maxdepth 1 -type d -name "sentencepiece-$VERSION*" | head -n 1)
[[ -n $src ]] || { echo "build-sentencepiece: could not unpack sentencepiece $VERSION source" >&2; exit 1; }
# Debian's patch series removes the static library target; put it back.
if [[ -f $src/debian/patches/disable-static-library.patch ]] && ! grep -q 'sentencepiece-static STATIC' "$src/src/CMakeLists.txt"; then
  patch -s -R -p1 -d "$src" < "$src/debian/patches/disable-static-library.patch"
fi
cmake -S "$src" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSPM_ENABLE_SHARED=OFF \
  -DSPM_ENABLE_TCMALLOC=OFF -DCMAKE_POSITION_INDEPENDENT_CODE=ON >/dev/null
cmake --build "$work/build" --target sentencepiece-static >/dev/null
mkdir -p "$PREFIX/lib" "$PREFIX/include"
cp "$work/build/src/libsentencepiece.a" "$PREFIX/lib/"
cp "$src/src/sentencepiece_processor.h" "$PREFIX/include/"
touch "$STAMP"
echo "build-sentencepiece: installed static sentencepiece $VERSION in $PREFIX"
