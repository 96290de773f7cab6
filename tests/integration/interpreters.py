"""Interpreters under test.  Add one with one line in INTERPRETERS."""
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Interpreter:
    label: str  # row name in the matrix and in tests/allowed-skips
    version: tuple  # (major, minor), for tests that apply only to some versions
    pyenv_version: str = None  # $PYENV_ROOT/versions/<this>/bin/python3
    path: str = None  # a fixed path
    env_var: str = None  # an environment variable holding the path...
    built_path: str = None  # ...else this path in the repository (scripts/get-debian-python.sh puts it there)
    # Its truth scenarios are also read from cores the kernel wrote (test_kernel_cores.py): on
    # glibc >= 2.41 gdb's gcore loses the thread stacks, which harness.make_core refills.
    kernel_cores: bool = False

    def locate(self):
        """(path, None) when usable, else (None, why not)."""
        if self.pyenv_version:
            root = pyenv_root()
            if root is None:
                return None, "no pyenv root ($PYENV_ROOT, `pyenv root`, ~/.pyenv)"
            candidate = root / "versions" / self.pyenv_version / "bin" / "python3"
        elif self.env_var:
            if os.environ.get(self.env_var):
                candidate = Path(os.environ[self.env_var])
            elif self.built_path:
                candidate = REPO_ROOT / self.built_path
            else:
                return None, "$%s is not set" % self.env_var
        else:
            candidate = Path(self.path)
        if not os.access(str(candidate), os.X_OK):
            hint = " (run scripts/get-debian-python.sh, see scripts/run-tests.sh)" if self.built_path else ""
            return None, "%s is not an executable%s" % (candidate, hint)
        return candidate, None

    def provenance(self):
        """Where the interpreter came from: its path, and the packages of an unpacked one."""
        path, why_not = self.locate()
        if path is None:
            return "unavailable: " + why_not
        parents = Path(path).parents
        packages = parents[3] / "packages.txt" if len(parents) > 3 else None  # DESTDIR/root/usr/bin/python3.X
        if packages and packages.is_file():
            wanted = [line for line in packages.read_text().splitlines() if "python" in line or line.startswith("libc6 ")]
            return "%s (Debian packages: %s)" % (path, ", ".join(wanted))
        return str(path)


INTERPRETERS = [
    Interpreter("3.8.18", (3, 8), pyenv_version="3.8.18"),
    Interpreter("3.9.18", (3, 9), pyenv_version="3.9.18"),
    Interpreter("3.10.13", (3, 10), pyenv_version="3.10.13"),
    Interpreter("3.11.7", (3, 11), pyenv_version="3.11.7"),
    Interpreter("3.11-debian", (3, 11), path="/usr/bin/python3.11"),
    Interpreter("3.12.1", (3, 12), pyenv_version="3.12.1"),
    Interpreter("3.13.0", (3, 13), pyenv_version="3.13.0"),
    Interpreter("3.13-debian", (3, 13), env_var="STACKSCOPE_PY313_DEBIAN",
                built_path="build/debian-python/3.13/root/usr/bin/python3.13", kernel_cores=True),
    Interpreter("3.14", (3, 14), env_var="STACKSCOPE_PY314", built_path="build/debian-python/3.14/root/usr/bin/python3.14"),
    Interpreter("3.15", (3, 15), env_var="STACKSCOPE_PY315", built_path="build/debian-python/3.15/root/usr/bin/python3.15"),
    # Debug builds (Py_DEBUG), from Debian unstable too (scripts/get-debian-python.sh --debug).
    Interpreter("3.13-dbg", (3, 13), env_var="STACKSCOPE_PY313_DBG",
                built_path="build/debian-python/3.13-dbg/root/usr/bin/python3.13-dbg", kernel_cores=True),
    Interpreter("3.14-dbg", (3, 14), env_var="STACKSCOPE_PY314_DBG",
                built_path="build/debian-python/3.14-dbg/root/usr/bin/python3.14-dbg", kernel_cores=True),
    Interpreter("3.15-dbg", (3, 15), env_var="STACKSCOPE_PY315_DBG",
                built_path="build/debian-python/3.15-dbg/root/usr/bin/python3.15-dbg", kernel_cores=True),
]


def interpreter_params(wanted=lambda interp: True):
    """pytest params of the `interp` fixture (id and xdist group = label) for the wanted ones."""
    import pytest

    return [pytest.param(i, id=i.label, marks=pytest.mark.xdist_group(i.label)) for i in INTERPRETERS if wanted(i)]


def pyenv_root():
    if os.environ.get("PYENV_ROOT"):
        return Path(os.environ["PYENV_ROOT"])
    pyenv = shutil.which("pyenv")
    if pyenv:
        out = subprocess.run([pyenv, "root"], capture_output=True, text=True, timeout=20)
        if out.returncode == 0 and out.stdout.strip():
            return Path(out.stdout.strip())
    home_default = Path.home() / ".pyenv"
    return home_default if home_default.is_dir() else None
