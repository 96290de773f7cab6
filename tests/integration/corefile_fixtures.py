"""The committed core fixtures (corefiles/<3.X>/, and corefiles/3.14-dbg/ of the debug build):
where they are, how to unpack them, and which local files relocate them."""
import json
import lzma
import os
import subprocess
from pathlib import Path

from harness import REPO_ROOT
from interpreters import INTERPRETERS

CORE_FILES_DIR = REPO_ROOT / "corefiles"
MINOR_VERSIONS = ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14", "3.15"]
# One per minor version, then other builds of a version (Py_DEBUG), named <3.X>-<build>.
FIXTURE_NAMES = MINOR_VERSIONS + ["3.14-dbg"]
CHUNK = 1 << 20


class Fixture:
    def __init__(self, version):
        self.version = version
        self.directory = CORE_FILES_DIR / version
        self.provenance = json.loads((self.directory / "provenance.json").read_text())
        self.expected = json.loads((self.directory / "expected.json").read_text())
        self.interpreter = next(i for i in INTERPRETERS if i.label == self.provenance["interpreter"])
        self.minor = "%d.%d" % self.interpreter.version  # lib/python<minor>

    def unpack(self, destination):
        """Decompresses core.xz into a sparse file (most of a core is zero pages); returns the
        path and the [start, end) ranges that hold data."""
        path = Path(destination) / ("core-%s" % self.version)
        extents = []
        with lzma.open(self.directory / "core.xz", "rb") as packed, open(path, "wb") as out:
            offset = 0
            while True:
                chunk = packed.read(CHUNK)
                if not chunk:
                    break
                if chunk.count(0) != len(chunk):
                    out.seek(offset)
                    out.write(chunk)
                    extents.append((offset, offset + len(chunk)))
                offset += len(chunk)
            out.truncate(offset)
        return path, extents

    def relocation_args(self):
        """--executable/--lib-search-path naming this machine's copy of the interpreter the
        fixture was made from, or (None, why not). The search path includes the interpreter's
        lib-dynload: the scenario's objects use asyncio, whose _asyncio extension module (a
        static Future type before 3.12, its name only in that file) the core maps."""
        path, why_not = self.interpreter.locate()
        if path is None:
            return None, why_not
        executable = Path(path).resolve()
        if self.provenance["origin"]["kind"] == "pyenv":
            prefix = executable.parent.parent
            local_files = {relative: prefix / relative for relative in self.provenance["build_ids"]}
            dynload = prefix / "lib" / ("python" + self.minor) / "lib-dynload"
            args = ["--executable", str(executable), "--lib-search-path", "%s:%s" % (prefix / "lib", dynload)]
        else:
            # The fixture ran Debian's own file through its loader (corefiles/make): relocate
            # to that file (scripts/get-debian-python.sh keeps it unpatched) and the unpacked libraries.
            prefix = executable.parents[2]  # ROOT/usr/bin/python3.X -> ROOT, the fixture's prefix
            pristine = executable.parents[3] / "pristine"
            local_files = {relative: (pristine if relative.startswith("usr/bin/") else prefix / Path(relative).parent)
                           / Path(relative).name for relative in self.provenance["build_ids"]}
            directories = [pristine, prefix / "usr/lib/x86_64-linux-gnu", prefix / "lib/x86_64-linux-gnu",
                           prefix / "usr/lib" / ("python" + self.minor) / "lib-dynload"]
            args = ["--lib-search-path", ":".join(map(str, directories))]
        mismatched = self.mismatched_build_ids(local_files)
        if mismatched:
            return None, "this machine's %s is not the build the fixture was made from (%s); " \
                "regenerate it with corefiles/make %s" % (self.interpreter.label, mismatched, self.version)
        return args, None

    def mismatched_build_ids(self, local_files):
        wrong = []
        for relative, recorded in self.provenance["build_ids"].items():
            if "libc.so" in relative and self.provenance["origin"]["kind"] == "pyenv":
                continue  # the system's libc, not part of the copied interpreter
            local = local_files[relative]
            actual = build_id(local) if local.exists() else None
            if actual != recorded:
                wrong.append("%s: fixture %s, here %s" % (relative, recorded, actual))
        return "; ".join(wrong)


def build_id(path):
    out = subprocess.run(["readelf", "-n", str(path)], capture_output=True, text=True)
    for line in out.stdout.splitlines():
        if "Build ID:" in line:
            return line.split("Build ID:")[1].strip()
    return None


def available_fixtures():
    return [Fixture(v) for v in FIXTURE_NAMES if (CORE_FILES_DIR / v / "provenance.json").is_file()]


def machine_secrets():
    """Byte strings a core made on this machine must not contain: home directories, the
    checkout's path and every NAME=value of this environment."""
    needles = {b"/root/", b"/home/", os.path.expanduser("~").encode() + b"/", str(REPO_ROOT).encode()}
    for name, value in os.environ.items():
        if len(value) >= 4:
            needles.add(("%s=%s" % (name, value)).encode(errors="replace"))
    return sorted(needles)
