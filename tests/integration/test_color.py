"""Colour (--color auto|always|never): ANSI codes on a terminal, none when piped, with
NO_COLOR or TERM=dumb, or in JSON, and exactly the uncoloured text once they are stripped.
The CLI runs under a pseudo-terminal; gdb colours as it styles its own output (`set style
enabled`, its stdout a terminal, TERM), which the same session shows by printing a pointer;
lldb as its `use-color` setting says. One target for all: parked_threads.py under the
system's python3, read live."""
import json
import os
import pty
import re
import select
import shutil
import subprocess
import termios
import time
from pathlib import Path

import pytest

from gdb_frontend import GDB_ARGS, gdb_program, gdb_script, traced_or_stopped
from harness import ScenarioProcess, clean_env, describe, run_tool, wait_until_all_sleeping
from lldb_frontend import PLUGIN_ENV, Command, find_lldb, plugin_path, run_lldb

ANSI = re.compile(r"\x1b\[[0-9;]*m")
SYSTEM_PYTHON = Path("/usr/bin/python3")
TERMINAL_ENV = {"TERM": "xterm-256color"}


def strip(text):
    return ANSI.sub("", text)


def run_on_terminal(argv, env, timeout=120):
    """Run argv with its stdout (and stderr) a pseudo-terminal: (returncode, what it wrote)."""
    master, slave = pty.openpty()
    attributes = termios.tcgetattr(slave)
    attributes[1] &= ~termios.OPOST  # "\n" stays "\n", as in a pipe
    termios.tcsetattr(slave, termios.TCSANOW, attributes)
    proc = subprocess.Popen([str(a) for a in argv], stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env,
                            start_new_session=True)
    os.close(slave)
    output, deadline = b"", time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every writer closed the terminal
                break
            if not data:
                break
            output += data
        else:
            proc.kill()
    finally:
        os.close(master)
    return proc.wait(timeout=30), output.decode(errors="replace")


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        pytest.skip("!!! INTERPRETER MISSING: %s" % SYSTEM_PYTHON)
    process = ScenarioProcess(SYSTEM_PYTHON, tmp_path_factory.mktemp("color")).start()
    yield process
    process.stop()


@pytest.fixture
def cli(tool, target):
    """cli(*options, terminal=True, **env): (returncode, stdout) of `stackscope pid`."""

    def run(*options, terminal=True, **env):
        wait_until_all_sleeping(target.pid)
        argv = [tool, "pid", target.pid] + list(options)
        if terminal:
            return run_on_terminal(argv, clean_env(**{**TERMINAL_ENV, **env}))
        result = run_tool(tool, argv[1:], env=clean_env(**{**TERMINAL_ENV, **env}))
        assert result.returncode == 0, describe(result)
        return result.returncode, result.stdout

    return run


@pytest.mark.parametrize("format_options", [(), ("--flat",), ("--ascii", "--show-hidden")])
def test_cli_auto_colours_a_terminal_and_stripping_gives_the_piped_text(cli, format_options):
    code, colored = cli(*format_options)
    assert code == 0, colored
    _, piped = cli(*format_options, terminal=False)
    assert "\x1b[" not in piped
    assert ANSI.search(colored), colored
    assert strip(colored) == piped
    assert "\x1b[" not in strip(colored)  # nothing but SGR codes


def test_cli_colours_each_element_distinctly(cli):
    _, colored = cli()
    assert re.search(r"^\x1b\[1mThread \d+.*:\x1b\[0m$", colored, re.M), colored  # header
    frame = re.search(r"^╠ \x1b\[(\d+)m[^\x1b]+\x1b\[0m in \S+ at \x1b\[(\d+)m[^\x1b]+:\d+\x1b\[0m$", colored, re.M)
    source = re.search(r"^║ └ \x1b\[(\d+)m", colored, re.M)
    assert frame and source, colored
    assert len({frame.group(1), frame.group(2), source.group(1)}) == 3


@pytest.mark.parametrize("env", [{"NO_COLOR": "1"}, {"TERM": "dumb"}])
def test_cli_auto_does_not_colour_when_the_environment_says_no(cli, env):
    code, text = cli(**env)
    assert code == 0 and "Thread " in text, text
    assert "\x1b[" not in text


def test_cli_empty_no_color_does_not_count(cli):
    _, text = cli(NO_COLOR="")
    assert ANSI.search(text), text


def test_cli_always_and_never_override_auto(cli):
    _, never = cli("--color", "never")
    assert "Thread " in never and "\x1b[" not in never
    _, always = cli("--color=always", terminal=False)
    assert ANSI.search(always)
    _, always_no_color = cli("--color=always", NO_COLOR="1")
    assert ANSI.search(always_no_color)
    assert strip(always) == strip(always_no_color) == never


def test_cli_json_is_never_coloured(cli):
    for options in (("--json",), ("--json", "--color", "always")):
        code, text = cli(*options)
        assert code == 0, text
        assert "\x1b" not in text
        json.loads(text)


def test_cli_bad_color_is_a_usage_error(tool, target):
    result = run_tool(tool, ["pid", target.pid, "--color", "sometimes"])
    assert result.returncode == 2
    assert result.stderr == ("stackscope: --color sometimes: expected auto, always or never "
                             "(see stackscope --help)\n")


# ---- gdb ----------------------------------------------------------------------------------

# Each section: a marker, then py-stackscope and a pointer gdb prints (styled when gdb styles).
GDB_SECTIONS = [
    ("batch", [], ""),  # gdb -batch turns styling off
    ("style_on", ["set style enabled on"], ""),
    ("never", [], "-color never"),
    ("json", [], "-json -color always"),
    ("style_off", ["set style enabled off"], ""),
    ("always", [], "-color always"),
    ("flat_always", [], "-flat -color=always"),
]


def gdb_sections(gdb_output):
    """{section: (py-stackscope's text, gdb's own `print` line)}, without the bare reset
    (`ESC[m`) gdb itself writes when it styles: ours always name a colour."""
    parts = re.split(r"@@(\w+)\n", gdb_output.replace("\x1b[m", ""))
    texts = dict(zip(parts[1::2], parts[2::2]))
    return {name: (texts[name], texts["print_" + name]) for name, _, _ in GDB_SECTIONS}


def run_gdb_sections(target, terminal):
    argv = [gdb_program()] + GDB_ARGS + ["-p", target.pid, "-ex", "source %s" % gdb_script()]
    for name, setup, options in GDB_SECTIONS:
        for command in setup:
            argv += ["-ex", command]
        argv += ["-ex", "echo @@%s\\n" % name, "-ex", "py-stackscope thread 1 %s" % options,
                 "-ex", "echo @@print_%s\\n" % name, "-ex", "print (void *) 0x10"]
    argv += ["-ex", "echo @@end\\n"]
    wait_until_all_sleeping(target.pid)
    env = clean_env(**TERMINAL_ENV)
    if terminal:
        _, output = run_on_terminal(argv, env)
    else:
        output = subprocess.run([str(a) for a in argv], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, errors="replace", timeout=300).stdout
    assert not traced_or_stopped(target.pid), output
    assert "@@end" in output, output
    return gdb_sections(output)


def test_gdb_colours_as_gdb_styles_on_a_terminal(target):
    sections = run_gdb_sections(target, terminal=True)
    for name in ("batch", "style_off", "never"):  # gdb does not style, or -color never
        ours, printed = sections[name]
        assert "Thread 1 (LWP" in ours and "\x1b" not in ours, (name, ours)
    assert "\x1b" not in sections["batch"][1] + sections["style_off"][1]  # nor does gdb's own print
    ours, printed = sections["style_on"]
    assert ANSI.search(printed), "gdb itself styles on this terminal: %r" % printed
    assert ANSI.search(ours), ours
    assert strip(ours) == sections["batch"][0]
    assert ANSI.search(sections["always"][0]) and strip(sections["always"][0]) == sections["batch"][0]
    assert ANSI.search(sections["flat_always"][0])
    assert "\x1b" not in sections["json"][0]
    json.loads(sections["json"][0])


def test_gdb_does_not_colour_a_pipe_unless_told(target):
    sections = run_gdb_sections(target, terminal=False)
    ours, printed = sections["style_on"]
    assert "\x1b" not in printed  # gdb does not style a pipe ...
    assert "Thread 1 (LWP" in ours and "\x1b" not in ours  # ... nor do we
    assert ANSI.search(sections["always"][0])
    assert strip(sections["always"][0]) == ours


# ---- lldb ---------------------------------------------------------------------------------

def test_lldb_follows_use_color(target, tmp_path):
    lldb, plugin = find_lldb(), plugin_path()
    if lldb is None:
        pytest.skip("!!! LLDB MISSING: no lldb-16 on PATH")
    if not plugin.is_file():
        pytest.skip("!!! LLDB PLUGIN MISSING: %s (set $%s or build it)" % (plugin, PLUGIN_ENV))
    commands = [
        Command("set_off", "settings set use-color false"),
        Command("off", "stackscope thread 1"),
        Command("always", "stackscope thread 1 --color always"),
        Command("set_on", "settings set use-color true"),
        Command("on", "stackscope thread 1"),
        Command("flat_on", "stackscope thread 1 --flat"),
        Command("never", "stackscope thread 1 --color never"),
        Command("json", "stackscope thread 1 --json"),
    ]
    run = run_lldb(lldb, plugin, tmp_path, "color", ["process attach -p %d" % target.pid], commands,
                   live_pid=target.pid)
    off = run.result("off")
    assert off.startswith("thread #1 (tid ") and "\x1b" not in off, run.describe()
    assert run.result("never") == off
    for key in ("on", "always"):
        assert ANSI.search(run.result(key)), run.describe()
        assert strip(run.result(key)) == off
    assert ANSI.search(run.result("flat_on"))
    assert "\x1b" not in run.result("json")
