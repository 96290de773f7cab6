#!/usr/bin/env bash
# Regenerates the committed fuzz seed corpora (tests/fuzz/corpus/): the decoder and ELF/core
# seeds (tests/fuzz/make_seeds.py), the frame-walker and object_repr memory images (make_fuzz_seeds,
# built in build/), and the tasks images captured from live 3.11 and 3.14 processes and the
# asyncio_debug blocks of Debian's 3.14/3.15 (tests/fuzz/capture_task_seeds.py, capture_seed;
# needs root). Run it after a layout-table change makes the images stale.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
cmake -S . -B build >/dev/null
cmake --build build -j"${JOBS:-2}" --target make_fuzz_seeds capture_seed
/usr/bin/python3 tests/fuzz/make_seeds.py
mkdir -p tests/fuzz/corpus/frame_walker tests/fuzz/corpus/object_repr
build/tests/fuzz/make_fuzz_seeds tests/unit/fixtures/debug_offsets_3.13.bin tests/fuzz/corpus/frame_walker \
    tests/fuzz/corpus/object_repr
/usr/bin/python3 tests/fuzz/capture_task_seeds.py
