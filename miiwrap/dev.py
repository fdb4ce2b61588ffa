#!/usr/bin/env python3
"""Run MiiWrap Fidelity, or its tests, on a machine that has only Python 3.11+.

    python3 miiwrap/dev.py run     # install, migrate, seed demo data, serve web + worker + beat
    python3 miiwrap/dev.py test    # install, run the whole test suite (extra args go to pytest)
    python3 miiwrap/dev.py lock    # pin pyproject.toml's ranges afresh in requirements.lock

Everything is installed into .venv beside manage.py, at the exact versions of
requirements.lock; the install is repeated only when pyproject.toml or the lock
changes. This file runs before anything is installed, so it uses the standard
library alone.
"""

import argparse
import contextlib
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
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
LOCK = ROOT / "requirements.lock"
REFRESH = "python3 miiwrap/dev.py lock"
# Seconds a command has to stop after SIGTERM before it and its group are killed.
STOP_GRACE = 10


def say(message):
    print(f"==> {message}", flush=True)


def requirements():
    """What pyproject.toml asks for, tools included; the code itself runs from this folder."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [*project["dependencies"], *project["optional-dependencies"]["dev"]]


def package_name(requirement):
    """`Django>=5.2` or `psycopg[binary]>=3.2` → its normalized name (`django`, `psycopg`)."""
    name = re.match(r"[A-Za-z0-9._-]+", requirement.strip()).group()
    return re.sub(r"[-_.]+", "-", name).lower()


def unlocked(wanted, lock_text):
    """The requirements in `wanted` that the lock pins no version of."""
    pinned = {
        package_name(line)
        for line in lock_text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    }
    return [requirement for requirement in wanted if package_name(requirement) not in pinned]


def ensure_installed():
    """Create .venv and install what the app and its tests need, at the locked versions,
    once per pyproject.toml and requirements.lock."""
    if not LOCK.exists():
        sys.exit(f"requirements.lock is missing: write it with `{REFRESH}`.")
    if missing := unlocked(requirements(), LOCK.read_text()):
        sys.exit(
            f"requirements.lock pins no version of {', '.join(missing)}, which pyproject.toml "
            f"asks for: refresh it with `{REFRESH}` and commit it."
        )
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + LOCK.read_bytes())
    wanted = digest.hexdigest()
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
    # The lock decides the versions; the ranges beside it make pip refuse a stale lock.
    if subprocess.run([*pip, "-r", str(LOCK), *requirements()], cwd=ROOT).returncode:
        sys.exit(
            "Installing requirements.lock failed (above). If pip says a pinned version "
            f"conflicts with pyproject.toml, refresh the lock with `{REFRESH}`."
        )
    STAMP.write_text(wanted)


def lock(options):
    """Resolve pyproject.toml's ranges afresh, as a new install would, and pin the result."""
    with tempfile.TemporaryDirectory(prefix="miiwrap-lock-") as scratch:
        say("Resolving pyproject.toml's dependencies in a scratch environment")
        venv.EnvBuilder(with_pip=True).create(scratch)
        python = Path(scratch) / BIN.name / PYTHON.name
        report = Path(scratch) / "report.json"
        pip = [str(python), "-m", "pip", "--disable-pip-version-check", "--quiet"]
        # A dry run resolves from the packages' metadata without installing them.
        resolve = ["install", "--dry-run", "--ignore-installed", "--report", str(report)]
        subprocess.run([*pip, *resolve, *requirements()], check=True)
        pins = pins_from_report(json.loads(report.read_text()))
    LOCK.write_text(LOCK_HEADER.format(refresh=REFRESH, python=sys.version.split()[0]) + pins)
    say(f"Wrote {len(pins.splitlines())} pins to {LOCK.name}")
    return 0


LOCK_HEADER = """\
# The exact version of every package the app and its tests run on, those that
# pyproject.toml's ranges bring in included. Every install (dev.py run and test, CI,
# production) installs these, so two installs a month apart run the same code.
# Resolved on Python {python} on Linux; refresh it on purpose, and commit it, with:
#     {refresh}
"""


def pins_from_report(report):
    """`name==version` lines, sorted, from what `pip install --report` would install."""
    found = {item["metadata"]["name"]: item["metadata"]["version"] for item in report["install"]}
    return "".join(f"{name}=={found[name]}\n" for name in sorted(found, key=str.lower))


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
    # One test process per core (pytest-xdist); `-n 0` among the arguments runs serially.
    command = [str(PYTHON), "-m", "pytest", "-n", "auto", *extra]
    return subprocess.run(command, cwd=ROOT).returncode


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="serve the app with its worker and beat")
    run_parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    commands.add_parser("test", help="run the test suite; other arguments go to pytest")
    commands.add_parser("lock", help="pin pyproject.toml's ranges afresh in requirements.lock")
    options, extra = parser.parse_known_args(argv)
    if options.command == "lock":
        return lock(options)
    if options.command == "run":
        if extra:
            parser.error(f"unknown arguments: {' '.join(extra)}")
        return run(options)
    return test(options, extra)


if __name__ == "__main__":
    sys.exit(main())
