#!/usr/bin/env python3
"""Writes the seed corpora of the decoder and ELF/core fuzz targets (tests/fuzz/corpus/).

  lnotab, linetable310, locations, exception_table: real co_lnotab / co_linetable /
      co_exceptiontable bytes of code objects compiled by the interpreters themselves,
      taken from tests/unit/fixtures/lines_3.X.json, behind the target's header
      (first line, then the byte offset or code unit looked up: the code's middle).
  with_analysis: code objects of tests/unit/fixtures/with_3.X.json (3.8-3.15: their bytecode,
      quickened on 3.11+, exception table, lines and symbols) in the target's input format
      (tests/support/fuzz_inputs.hpp).
  elf_core: a tiny static ELF (gcc, with _PyRuntime, a .PyRuntime section and a build id),
      a small core built here (PT_NOTE with NT_PRSTATUS, NT_PRPSINFO, NT_AUXV, NT_FILE,
      two PT_LOADs), and the same core truncated.

The frame_walker seeds are memory images written by make_fuzz_seeds (scripts/make-fuzz-seeds.sh
runs both). Needs gcc. Valid Python 3.8 syntax.
"""
import json
import os
import re
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "tests", "unit", "fixtures")
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")
# Code objects whose tables cover the formats' corners: tiny, ordinary, huge line gaps,
# negative deltas, wide columns, many constants, and exception handlers.
WANTED = ("synthetic:at_line_one", "synthetic:at_line_5000", "synthetic:wide_line", "synthetic:<module>",
          "synthetic:matcher", "contextlib:__exit__", "textwrap:fill")
MAX_TABLE = 1024


def code_objects(version):
    with open(os.path.join(FIXTURES, "lines_%s.json" % version)) as f:
        return json.load(f)["code_objects"]


def pick(objects, key):
    seen, out = set(), []
    for c in objects:
        table = bytes.fromhex(c[key])
        if c["name"] in WANTED and table and len(table) <= MAX_TABLE and c["name"] not in seen:
            seen.add(c["name"])
            out.append((c, table))
    return out


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def file_name(version, c):
    return "%s-%s" % (version, c["name"].replace(":", "-").replace("<", "").replace(">", ""))


def line_table_seeds():
    for version, target in (("3.8", "lnotab"), ("3.9", "lnotab"), ("3.10", "linetable310")):
        for c, table in pick(code_objects(version), "table")[:3]:
            middle_byte = (c["code_len"] // 4) * 2
            write(target, file_name(version, c), struct.pack("<iq", c["firstlineno"], middle_byte) + table)
    for version in ("3.11", "3.12", "3.13"):
        objects = code_objects(version)
        for c, table in pick(objects, "table")[:2]:
            write("locations", file_name(version, c), struct.pack("<iI", c["firstlineno"], c["code_len"] // 4) + table)
        handlers = [c for c in objects if c.get("exception_table")]
        handlers.sort(key=lambda c: len(c["exception_table"]))
        for c in handlers[:1] + handlers[len(handlers) // 2:len(handlers) // 2 + 1]:
            write("exception_table", file_name(version, c), bytes.fromhex(c["exception_table"]))


WITH_SEEDS = ("<module>.nested", "<module>.async_targets", "<module>.leave_sync", "<module>.async_in_finally")


def with_analysis_seed(minor, c):
    code = bytes.fromhex(c["adaptive"] or c["code"])
    table = bytes.fromhex(c["exception_table"] or "")
    lines = b"".join(struct.pack("<H", 0xFFFF if line is None else min(line, 0xFFFE)) for line in c["lines"])
    strings = c["names"] + c["locals"] + c["derefs"] + [r if r is not None else "\x7f" for r in c["consts"]]
    if any("\0" in x for x in strings):
        raise RuntimeError("a NUL in a symbol of %s" % c["name"])
    header = struct.pack("<BBHHHHHHH", minor - 8, 0, len(code), len(table), len(c["lines"]), len(c["names"]),
                         len(c["locals"]), len(c["derefs"]), 0)
    return header + code + table + lines + "\0".join(strings).encode()


def with_analysis_seeds():
    for minor in range(8, 16):
        with open(os.path.join(FIXTURES, "with_3.%d.json" % minor)) as f:
            objects = json.load(f)["code_objects"]
        for c in objects:
            if c["name"] in WITH_SEEDS:
                name = "3.%d-%s" % (minor, c["name"].replace("<module>.", ""))
                write("with_analysis", name, with_analysis_seed(minor, c))


def debug_offsets_cookie():
    """The _Py_DebugOffsets cookie, as core/cpython/versions/debug_offsets.hpp (its one spelling) has it."""
    with open(os.path.join(ROOT, "core", "cpython", "versions", "debug_offsets.hpp")) as f:
        return re.search(r'kDebugOffsetsCookie\{"([^"]{8})"\}', f.read()).group(1)


TINY_ELF_SOURCE = r"""
__attribute__((section(".PyRuntime"))) char _PyRuntime[64] = "%(cookie)s";
const unsigned Py_Version = 0x030d00f0;
void _start(void) { for (;;) __asm__ volatile("hlt"); }
"""


def tiny_elf():
    with tempfile.TemporaryDirectory() as tmp:
        src, out = os.path.join(tmp, "tiny.c"), os.path.join(tmp, "python3.13")
        with open(src, "w") as f:
            f.write(TINY_ELF_SOURCE % {"cookie": debug_offsets_cookie()})
        subprocess.check_call(["gcc", "-Os", "-g0", "-static", "-nostdlib", "-fno-asynchronous-unwind-tables",
                               "-Wl,-n", "-Wl,--build-id", "-o", out, src])
        subprocess.check_call(["strip", "--strip-debug", "-R", ".comment", out])
        with open(out, "rb") as f:
            return f.read()


def note(name, note_type, desc):
    name_bytes = name + b"\0"
    pad = lambda b: b + b"\0" * (-len(b) % 4)
    return struct.pack("<III", len(name_bytes), len(desc), note_type) + pad(name_bytes) + pad(desc)


def small_core():
    """An x86-64 ET_CORE: one thread, the auxv, an NT_FILE naming python3.13 and libc, two loads."""
    prstatus = bytearray(336)
    struct.pack_into("<i", prstatus, 32, 4242)                    # pr_pid
    struct.pack_into("<Q", prstatus, 112 + 8 * 21, 0x7f0011112222)  # fs_base
    prpsinfo = bytearray(136)
    struct.pack_into("<i", prpsinfo, 24, 4242)
    auxv = struct.pack("<QQQQ", 9, 0x401000, 0, 0)                 # AT_ENTRY, AT_NULL
    names = b"/usr/bin/python3.13\0/lib/x86_64-linux-gnu/libc.so.6\0"
    nt_file = struct.pack("<QQ", 2, 4096) + struct.pack("<QQQ", 0x400000, 0x402000, 0) + \
        struct.pack("<QQQ", 0x7f0000000000, 0x7f0000001000, 0) + names
    notes = note(b"CORE", 1, bytes(prstatus)) + note(b"CORE", 3, bytes(prpsinfo)) + \
        note(b"CORE", 6, auxv) + note(b"CORE", 0x46494c45, nt_file)
    loads = [(0x400000, b"\x7fELF" + b"\0" * 252), (0x7ffe0000, bytes(range(256)))]
    phnum = 1 + len(loads)
    offset = 64 + 56 * phnum
    phdrs = struct.pack("<IIQQQQQQ", 4, 0, offset, 0, 0, len(notes), 0, 4)
    data_offset = offset + len(notes)
    body = notes
    for vaddr, content in loads:
        phdrs += struct.pack("<IIQQQQQQ", 1, 6, data_offset, vaddr, 0, len(content), len(content) + 4096, 4096)
        data_offset += len(content)
        body += content
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + b"\0" * 8
    ehdr = ident + struct.pack("<HHIQQQIHHHHHH", 4, 62, 1, 0, 64, 0, 0, 64, 56, phnum, 64, 0, 0)
    return ehdr + phdrs + body


def elf_seeds():
    write("elf_core", "tiny-static-elf", tiny_elf())
    core = small_core()
    write("elf_core", "small-core", core)
    write("elf_core", "small-core-truncated", core[:len(core) - 100])


def main():
    line_table_seeds()
    with_analysis_seeds()
    elf_seeds()
    return 0


if __name__ == "__main__":
    sys.exit(main())
