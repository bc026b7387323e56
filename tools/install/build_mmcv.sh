#!/usr/bin/env bash
# Build (once) a wheel of mmcv with its compiled ops against the torch installed in $PY's env,
# and cache it outside the repo. Prints the wheel path as its last line.
#   PY=.venv/bin/python tools/install/build_mmcv.sh
set -euo pipefail
PY=${PY:-.venv/bin/python}; PY="$(cd "$(dirname "$PY")" && pwd)/$(basename "$PY")"
MMCV_VERSION=${MMCV_VERSION:-2.0.1}
CACHE=${SKYSENSE_CACHE:-$HOME/.cache/skysense_mm}
TORCH_VERSION=$("$PY" -c 'import torch; print(torch.__version__.split("+")[0])')
PYTAG=$("$PY" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
VARIANT=cpu; [ "${FORCE_CUDA:-0}" = 1 ] && VARIANT=cuda
DEST="$CACHE/wheels/mmcv-$MMCV_VERSION-torch$TORCH_VERSION-$PYTAG-$VARIANT"
existing=$(ls "$DEST"/mmcv-*.whl 2>/dev/null | head -1 || true)
if [ -n "$existing" ]; then echo "$existing"; exit 0; fi

command -v "${CXX:-g++}" >/dev/null || { echo "build_mmcv: no C++ compiler (${CXX:-g++}) found; install g++ (apt-get install g++)" >&2; exit 2; }
inc=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
[ -f "$inc/Python.h" ] || { echo "build_mmcv: Python headers missing ($inc/Python.h); install python3-dev" >&2; exit 2; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
echo "build_mmcv: building mmcv $MMCV_VERSION with ops against torch $TORCH_VERSION (one-time, ~15-45 min on 2 cores)" >&2
"$PY" -m pip download -q --no-deps --no-binary :all: --no-build-isolation "mmcv==$MMCV_VERSION" -d "$WORK" >&2
tar -xzf "$WORK"/mmcv-"$MMCV_VERSION".tar.gz -C "$WORK"
SRC="$WORK/mmcv-$MMCV_VERSION"
# torch>=2.10 headers require C++20; mmcv pins -std=c++14/17 in its setup.py.
sed -i -E "s/-std=c\+\+1[47]/-std=c++20/g" "$SRC/setup.py"
grep -q 'c++20' "$SRC/setup.py" || { echo "build_mmcv: could not patch the C++ standard in setup.py" >&2; exit 3; }
# GNU nproc honours OMP_NUM_THREADS (often 1 in test shells): count the CPUs without it.
jobs=${MAX_JOBS:-$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)}
echo "build_mmcv: $jobs parallel compile jobs (set MAX_JOBS to change)" >&2
( cd "$SRC" && MMCV_WITH_OPS=1 FORCE_CUDA=${FORCE_CUDA:-0} MAX_JOBS=$jobs \
    "$PY" -m pip wheel -q --no-deps --no-build-isolation . -w "$WORK/out" >&2 )
mkdir -p "$DEST"
tmp="$DEST/.partial"; rm -rf "$tmp"; mkdir -p "$tmp"
cp "$WORK"/out/mmcv-*.whl "$tmp"/
mv "$tmp"/mmcv-*.whl "$DEST"/ && rmdir "$tmp"
ls "$DEST"/mmcv-*.whl | head -1
