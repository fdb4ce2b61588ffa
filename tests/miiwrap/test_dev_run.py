"""The README's run command, end to end: it serves pages, runs a worker and beat, and stops."""

import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import wait_until

ROOT = Path(__file__).resolve().parents[2]
SERVICES = {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, response.read().decode()
    except OSError:
        return None, ""


@pytest.fixture
def running_app(tmp_path):
    """`python3 miiwrap/dev.py run` on its own SQLite file and broker folder."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in SERVICES}
    env["MIIWRAP_VAR_DIR"] = str(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "miiwrap/dev.py", "run", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    lines = []
    threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True).start()
    yield process, f"http://127.0.0.1:{port}", lines
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)


def test_run_command_serves_the_login_page_with_worker_and_beat(running_app):
    """Started in the background as a script does (SIGINT ignored), stopped by SIGTERM.

    How each way of stopping reaches every process: test_dev_supervise.py, cheaply."""
    process, url, lines = running_app
    assert wait_until(lambda: fetch(url + "/accounts/login/")[0] == 200, 120), "".join(lines)
    assert "Email or username" in fetch(url + "/accounts/login/")[1]
    output = lambda: "".join(lines)  # noqa: E731
    assert wait_until(lambda: "ready." in output() and "beat: Starting" in output(), 60), output()
    assert "miiwrap-demo" in output()

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0, output()
    assert wait_until(lambda: not children_of_session(process.pid), 15)
    assert fetch(url + "/accounts/login/")[0] is None


def children_of_session(session_id):
    """Processes still alive in the run command's session (its web, worker and beat)."""
    result = subprocess.run(
        ["ps", "-o", "pid=,stat=", "-s", str(session_id)], capture_output=True, text=True
    )
    return [line.split()[0] for line in result.stdout.splitlines() if "Z" not in line.split()[1]]
