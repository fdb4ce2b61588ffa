"""dev.py's supervisor stops every process its commands started, however it was started.

Small commands stand in for runserver: each starts a child that holds a port, as
runserver's reloader does, so a stop that reached only the command would orphan it.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.conftest import wait_until
from tests.miiwrap.test_dev_run import free_port

ROOT = Path(__file__).resolve().parents[2]

# Listens on the port given, then waits to be stopped.
SERVE = textwrap.dedent(
    """
    import signal, socket, sys, time
    if sys.argv[2] == "stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sock = socket.create_server(("127.0.0.1", int(sys.argv[1])))
    while True:
        time.sleep(1)
    """
)

# Like runserver: the command itself waits while a child of its own does the serving.
LAUNCH = textwrap.dedent(
    """
    import subprocess, sys
    subprocess.Popen([sys.executable, "-c", sys.argv[1], *sys.argv[2:]]).wait()
    """
)

# Runs dev.supervise over the commands given as JSON, with a short grace period.
SUPERVISE = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, "miiwrap")
    import dev
    dev.STOP_GRACE = 2
    sys.exit(dev.supervise(json.loads(sys.argv[1])))
    """
)


def server(port, behaviour="polite"):
    """A command that serves `port` from a child process, as runserver does."""
    return [sys.executable, "-c", LAUNCH, SERVE, str(port), behaviour]


def start_supervisor(commands, background=True):
    """The supervisor in a session of its own (for counting its processes), started as
    `nohup python3 miiwrap/dev.py run &` from a script does (SIGINT ignored, which its
    children inherit) or, with `background=False`, as from a terminal."""
    return subprocess.Popen(
        [sys.executable, "-c", SUPERVISE, json.dumps(commands)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if background else None,
    )


def listening(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def alive_in_session(session_id):
    """Processes of the session that still run (zombies are already dead)."""
    result = subprocess.run(
        ["ps", "-o", "pid=,stat=", "-s", str(session_id)], capture_output=True, text=True
    )
    return [line.split()[0] for line in result.stdout.splitlines() if "Z" not in line.split()[1]]


@pytest.fixture
def supervisor():
    started = []

    def _start(commands, background=True):
        started.append(start_supervisor(commands, background))
        return started[-1]

    yield _start
    for process in started:
        for pid in alive_in_session(process.pid):  # a failed test leaves no strays
            os.kill(int(pid), signal.SIGKILL)
        process.wait()


@pytest.mark.parametrize("behaviour", ["polite", "stubborn"])
def test_sigterm_stops_every_process_of_a_background_run_and_frees_the_ports(supervisor, behaviour):
    web, other = free_port(), free_port()
    process = supervisor({"web": server(web, behaviour), "other": server(other)})
    assert wait_until(lambda: listening(web) and listening(other), 20)

    process.send_signal(signal.SIGTERM)

    assert process.wait(timeout=20) == 0
    assert wait_until(lambda: not alive_in_session(process.pid), 5), alive_in_session(process.pid)
    assert not listening(web)
    assert not listening(other)


def test_when_one_command_dies_the_others_stop_with_their_children(supervisor):
    web = free_port()
    quitter = [sys.executable, "-c", "import time; time.sleep(1)"]
    process = supervisor({"web": server(web), "quitter": quitter})
    assert wait_until(lambda: listening(web), 20)

    assert process.wait(timeout=20) == 1
    assert wait_until(lambda: not alive_in_session(process.pid), 5), alive_in_session(process.pid)
    assert not listening(web)


@pytest.mark.parametrize("presses", [1, 2], ids=["ctrl-c", "ctrl-c-twice"])
def test_ctrl_c_in_a_terminal_stops_every_process_even_when_pressed_twice(supervisor, presses):
    web = free_port()
    process = supervisor({"web": server(web, "stubborn")}, background=False)
    assert wait_until(lambda: listening(web), 20)

    for _ in range(presses):  # the terminal signals the foreground group
        os.killpg(process.pid, signal.SIGINT)
        time.sleep(0.3)

    assert process.wait(timeout=20) == 0
    assert wait_until(lambda: not alive_in_session(process.pid), 5), alive_in_session(process.pid)
    assert not listening(web)
