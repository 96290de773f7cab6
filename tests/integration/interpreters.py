"""Interpreters under test.  Add one with one line in INTERPRETERS."""
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Interpreter:
    label: str  # row name in the matrix and in tests/allowed-skips
    version: tuple  # (major, minor), for tests that apply only to some versions
    pyenv_version: str = None  # $PYENV_ROOT/versions/<this>/bin/python3
    path: str = None  # a fixed path
    env_var: str = None  # an environment variable holding the path

    def locate(self):
        """(path, None) when usable, else (None, why not)."""
        if self.pyenv_version:
            root = pyenv_root()
            if root is None:
                return None, "no pyenv root ($PYENV_ROOT, `pyenv root`, ~/.pyenv)"
            candidate = root / "versions" / self.pyenv_version / "bin" / "python3"
        elif self.env_var:
            if not os.environ.get(self.env_var):
                return None, "$%s is not set" % self.env_var
            candidate = Path(os.environ[self.env_var])
        else:
            candidate = Path(self.path)
        if not os.access(str(candidate), os.X_OK):
            return None, "%s is not an executable" % candidate
        return candidate, None


INTERPRETERS = [
    Interpreter("3.8.18", (3, 8), pyenv_version="3.8.18"),
    Interpreter("3.9.18", (3, 9), pyenv_version="3.9.18"),
    Interpreter("3.10.13", (3, 10), pyenv_version="3.10.13"),
    Interpreter("3.11.7", (3, 11), pyenv_version="3.11.7"),
    Interpreter("3.11-debian", (3, 11), path="/usr/bin/python3.11"),
    Interpreter("3.12.1", (3, 12), pyenv_version="3.12.1"),
    Interpreter("3.13.0", (3, 13), pyenv_version="3.13.0"),
    # Not yet supported by the tool; enable by uncommenting:
    # Interpreter("3.14", (3, 14), env_var="STACKSCOPE_PY314"),
    # Interpreter("3.15", (3, 15), env_var="STACKSCOPE_PY315"),
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
