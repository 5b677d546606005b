#!/usr/bin/env bash
# Tastemaker's one entry point for people and CI.
#   ./build.sh run          install what is missing, build, start the app on the bundled default model
#   ./build.sh test [--all] install what is missing, build, run the test suite (--all adds slow + bench)
#   ./build.sh build        install what is missing and build only
# Environment: BUILD_DIR (default: build), BUILD_TYPE (default: RelWithDebInfo), TM_SANITIZE=ON for ASan+UBSan.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
BUILD_DIR=${BUILD_DIR:-build}
BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo}
mode=${1:-build}
shift || true

bash packaging/install-deps.sh
bash packaging/build-sentencepiece.sh "$ROOT/$BUILD_DIR/_deps/sentencepiece"

launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
if [[ ! -f $BUILD_DIR/build.ninja ]]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE" "${launcher[@]}" \
    -DTM_SANITIZE="${TM_SANITIZE:-OFF}" -DTM_SENTENCEPIECE_PREFIX="$ROOT/$BUILD_DIR/_deps/sentencepiece"
fi
cmake --build "$BUILD_DIR" -j "$(nproc)"

case $mode in
  build) ;;
  run)
    exec "$BUILD_DIR/app/tastemaker" "$@" ;;
  test)
    labels_exclude='slow|bench'
    [[ ${1:-} == --all ]] && labels_exclude='^$'
    exec bash packaging/with-test-env.sh ctest --test-dir "$BUILD_DIR" --output-on-failure \
      -j "$(nproc)" -LE "$labels_exclude" ;;
  *) echo "usage: ./build.sh run|test [--all]|build" >&2; exit 2 ;;
esac
