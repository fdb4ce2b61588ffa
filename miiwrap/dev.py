#!/usr/bin/env python3
"""Run MiiWrap Fidelity, or its tests, on a machine that has only Python 3.11+.

    python3 miiwrap/dev.py run     # install, migrate, seed demo data, serve web + worker + beat
    python3 miiwrap/dev.py test    # install, run the whole test suite (extra args go to pytest)

Everything is installed into .venv beside manage.py; the install is repeated only
when pyproject.toml changes. This file runs before anything is installed, so it
uses the standard library alone.
"""

import argparse
import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / "miiwrap-installed"
# Seconds a command has to stop after SIGTERM before it and its group are killed.
STOP_GRACE = 10


def say(message):
    print(f"==> {message}", flush=True)


def requirements():
    """What pyproject.toml asks for, tools included; the code itself runs from this folder."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [*project["dependencies"], *project["optional-dependencies"]["dev"]]


def ensure_installed():
    """Create .venv and install what the app and its tests need, once per pyproject.toml."""
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == wanted and PYTHON.exists():
        return
    if sys.version_info < (3, 11):  # noqa: UP036  (this file runs on any python3)
        sys.exit("MiiWrap Fidelity needs Python 3.11 or newer.")
    if not PYTHON.exists():
        say(f"Creating a virtual environment in {VENV}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    say("Installing what the app and its tests need (first run only; about a minute)")
    pip = [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, *requirements()], check=True, cwd=ROOT)
    STAMP.write_text(wanted)


def manage(*args):
    subprocess.run([str(PYTHON), "manage.py", *args], check=True, cwd=ROOT)


def run(options):
    ensure_installed()
    say("Migrating the database")
    manage("migrate", "--no-input", "-v", "0")
    say("Loading demo data (adds nothing when it is already there)")
    manage("seed_demo")
    address = f"127.0.0.1:{options.port}"
    processes = {
        "web": [str(PYTHON), "manage.py", "runserver", address],
        "worker": [str(PYTHON), "-m", "celery", "-A", "miiwrap", "worker", "-l", "INFO", "-c", "2"],
        "beat": [str(PYTHON), "-m", "celery", "-A", "miiwrap", "beat", "-l", "INFO"],
    }
    say(f"Open http://{address}/ and sign in with a login above. Ctrl-C stops everything.")
    return supervise(processes)


def supervise(commands):
    """Run the commands side by side, each line prefixed by its name, until one stops."""
    width = max(map(len, commands))
    signal.signal(signal.SIGTERM, _interrupt)  # a supervisor's stop means Ctrl-C
    children = {}
    for name, command in commands.items():
        child = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            # Each command in a process group of its own, so that stopping it reaches what
            # it started too (runserver's reloader serves from a child of its own).
            **({"process_group": 0} if os.name != "nt" else {}),
        )
        threading.Thread(target=_relay, args=(name.ljust(width), child), daemon=True).start()
        children[name] = child
    try:
        while all(child.poll() is None for child in children.values()):
            time.sleep(0.5)
        stopped = [name for name, child in children.items() if child.poll() is not None]
        say(f"{', '.join(stopped)} stopped; stopping the rest")
        status = 1
    except KeyboardInterrupt:
        status = 0
    _stop_all(children.values())
    return status


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _relay(prefix, child):
    for line in child.stdout:
        sys.stdout.write(f"{prefix} | {line}")
        sys.stdout.flush()


def _stop_all(children):
    """Stop every command's whole process group: SIGTERM, then SIGKILL after STOP_GRACE.

    SIGTERM rather than SIGINT: a job started in the background by a shell has SIGINT
    ignored, and its children inherit that, so SIGINT would leave them running.
    """
    # A second Ctrl-C while the children stop must not leave any of them running.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    for child in children:
        _signal_group(child)
    deadline = time.monotonic() + STOP_GRACE
    for child in children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        # Whatever the command left behind in its group goes too, even if it exited.
        _signal_group(child, kill=True)
        child.wait()


def _signal_group(child, kill=False):
    if os.name == "nt":  # no process groups to signal; the command alone
        if child.poll() is None:
            child.kill() if kill else child.terminate()
        return
    # An empty group (everything in it already gone) has nothing left to stop.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signal.SIGKILL if kill else signal.SIGTERM)


def test(options, extra):
    ensure_installed()
    return subprocess.run([str(PYTHON), "-m", "pytest", *extra], cwd=ROOT).returncode


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="serve the app with its worker and beat")
    run_parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    commands.add_parser("test", help="run the test suite; other arguments go to pytest")
    options, extra = parser.parse_known_args(argv)
    if options.command == "run":
        if extra:
            parser.error(f"unknown arguments: {' '.join(extra)}")
        return run(options)
    return test(options, extra)


if __name__ == "__main__":
    sys.exit(main())
