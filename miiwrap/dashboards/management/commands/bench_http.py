"""bench_http: what a user waits for, page by page, from a real gunicorn under load.

bench_dashboards times views in the command's own process; this one starts the app as
production runs it (gunicorn, sync workers, DEBUG off, whitenoise serving the collected
static files) on loopback, and sends it real HTTP: for each page, a fixed number of
connections for a fixed time, each sending its next request as soon as the last is
answered. It prints, per page, its time alone (one request at a time) and under load the
requests per second, the median and 99th-percentile latency and every answer that was not
a 200; and, for the leader dashboard, one request right after every
kept dashboard section went stale (miiwrap.generations.bump) against the warm ones after.

The dataset, and the people measured, are bench_dashboards': a median organization's
leader, its busiest coach, and the purveyor's admin. Each is signed in by a session made
directly in the session store (as force_login does), so no password is hashed; the
sessions are deleted at the end.

The load comes from threads of this process, one per connection, each with http.client:
at the few dozen requests a second three sync workers serve, they cost little of the CPU
the server needs, which a load tool in Python with its own event loop (locust) would not.
"""

import argparse
import contextlib
import http.client
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from miiwrap import generations
from miiwrap.dashboards.management.commands import bench_dashboards as dashboards
from miiwrap.people.middleware import REFRESHED_AT
from observations.management.commands import bench_observations as dataset
from observations.management.commands.bench_observations import positive

HOST = "127.0.0.1"
DEFAULT_WORKERS, DEFAULT_CONNECTIONS, DEFAULT_SECONDS = 3, 20, 10.0
WARMUP_SECONDS = 2.0
WARM_RUNS, ALONE_RUNS = 10, 3
START_SECONDS, STOP_SECONDS = 60, 10
REQUEST_TIMEOUT = 60
LOG_LINES_SHOWN = 20
ROSTER_PROGRAM = "practitioner"


def seconds_value(text):
    """A duration in seconds above zero, for argparse."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not value > 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0.")
    return value


def percentile(values, fraction):
    """The nearest-rank percentile: the smallest value at least `fraction` of the values
    are at or under, always one that was measured. None when there are no values."""
    if not values:
        return None
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction {fraction} is not in (0, 1]")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


@dataclass
class Load:
    """What one page answered under load: every request's seconds and status (or the
    name of the exception that ended it), the seconds the whole load took, and the CPU
    seconds this process spent meanwhile: what the driver took from the server's cores."""

    seconds: list = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    elapsed: float = 0.0
    cpu: float = 0.0

    @property
    def requests(self):
        return sum(self.statuses.values())

    @property
    def errors(self):
        return sum(n for status, n in self.statuses.items() if status != 200)

    @property
    def per_second(self):
        return self.requests / self.elapsed if self.elapsed else 0.0

    def ms(self, fraction):
        found = percentile(self.seconds, fraction)
        return None if found is None else found * 1000

    def error_kinds(self):
        """'302 ×40, ConnectionResetError ×1': what the errors were."""
        return ", ".join(
            f"{status} ×{n}"
            for status, n in sorted(self.statuses.items(), key=lambda p: str(p[0]))
            if status != 200
        )

    def add(self, other):
        self.seconds += other.seconds
        self.statuses += other.statuses


def drive(port, path, *, cookie, connections, seconds, host=HOST):
    """Load of `connections` keep-alive connections, each a thread sending GET `path`
    again as soon as it is answered, until `seconds` have passed since they all started.
    A request under way then is finished and counted. A server that closes the
    connection after a response (gunicorn's sync workers do) is reconnected to."""
    start = threading.Barrier(connections + 1)
    results = [Load() for _ in range(connections)]
    deadline = [math.inf]

    def connection_loop(result):
        client = http.client.HTTPConnection(host, port, timeout=REQUEST_TIMEOUT)
        headers = {"Cookie": cookie} if cookie else {}
        start.wait()
        try:
            while time.perf_counter() < deadline[0]:
                status, took = fetch_once(client, path, headers)
                result.statuses[status] += 1
                if status == 200:
                    result.seconds.append(took)
        finally:
            client.close()

    threads = [
        threading.Thread(target=connection_loop, args=(result,), daemon=True) for result in results
    ]
    for thread in threads:
        thread.start()
    began, cpu = time.perf_counter(), time.process_time()
    deadline[0] = began + seconds
    start.wait()
    for thread in threads:
        thread.join()
    total = Load(elapsed=time.perf_counter() - began, cpu=time.process_time() - cpu)
    for result in results:
        total.add(result)
    return total


def fetch_once(client, path, headers):
    """(status, seconds) of one GET, its body read; (exception's name, seconds) when it
    failed, the connection then closed so that the next request opens a new one."""
    started = time.perf_counter()
    try:
        client.request("GET", path, headers=headers)
        response = client.getresponse()
        response.read()
        return response.status, time.perf_counter() - started
    except (OSError, http.client.HTTPException) as error:
        client.close()
        return type(error).__name__, time.perf_counter() - started


def first_byte(port, path, cookie, host=HOST):
    """(status, seconds to the body's first byte, seconds to its last) of one GET on a new
    connection: how soon a streamed download starts, and how long it takes."""
    client = http.client.HTTPConnection(host, port, timeout=REQUEST_TIMEOUT)
    started = time.perf_counter()
    try:
        client.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = client.getresponse()
        response.read(1)
        first = time.perf_counter() - started
        response.read()
        return response.status, first, time.perf_counter() - started
    finally:
        client.close()


def get_once(port, path, cookie, host=HOST):
    """(status, seconds) of one GET on a new connection."""
    client = http.client.HTTPConnection(host, port, timeout=REQUEST_TIMEOUT)
    try:
        return fetch_once(client, path, {"Cookie": cookie} if cookie else {})
    finally:
        client.close()


def free_port(host=HOST):
    """A port nothing listens on now (the kernel's choice), for gunicorn to bind."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def server_environment():
    """The environment gunicorn runs in: this one (the same database, cache and broker),
    with DEBUG off and what plain http on loopback needs of the production settings."""
    env = dict(os.environ)
    env.update(
        DEBUG="0",
        SECRET_KEY=settings.SECRET_KEY,
        ALLOWED_HOSTS=HOST,
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        SECURE_HSTS_SECONDS="0",
        PYTHONUNBUFFERED="1",
    )
    env.setdefault("DJANGO_SETTINGS_MODULE", "miiwrap.settings")
    return env


def collect_static(env):
    """With DEBUG off the pages name the collected files by their hashed names: without
    the manifest every page would fail. Seconds taken."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise CommandError(f"collectstatic failed:\n{tail(done.stderr or done.stdout)}")
    return time.monotonic() - started


def tail(text, lines=LOG_LINES_SHOWN):
    return "\n".join(text.strip().splitlines()[-lines:])


@contextlib.contextmanager
def gunicorn(workers, env, port, app="miiwrap.wsgi", host=HOST):
    """gunicorn serving the app on host:port until the block ends, however it ends: on an
    error, Ctrl-C or SIGTERM too. In its own session, so that Ctrl-C reaches only this
    process, which then stops it: the master first, then the group if it lingers."""
    command = [
        *(sys.executable, "-m", "gunicorn", app),
        *("--bind", f"{host}:{port}", "--workers", str(workers)),
        *("--graceful-timeout", str(STOP_SECONDS), "--timeout", str(REQUEST_TIMEOUT)),
        # Its control socket is one path per user: two servers on one machine would share it.
        "--no-control-socket",
    ]
    with tempfile.TemporaryFile(mode="w+") as log:
        server = subprocess.Popen(
            command,
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        previous = on_sigterm_exit()
        try:
            wait_until_answering(server, host, port, log)
            yield Served(server, log)
        finally:
            stop(server)
            restore_sigterm(previous)


@dataclass
class Served:
    """The gunicorn process, and its log so far (its tail shown when a page failed)."""

    process: subprocess.Popen
    log: object

    def log_tail(self):
        return read_log(self.log)


def on_sigterm_exit():
    """SIGTERM raises SystemExit while the server runs, so the finally that stops it
    runs too. The handler it replaces, or None off the main thread (where none can be set)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))


def restore_sigterm(previous):
    if previous is not None:
        signal.signal(signal.SIGTERM, previous)


def wait_until_answering(server, host, port, log):
    """Until a worker answers HTTP: the master listens before any worker has loaded the
    app, and exits when none can."""
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise CommandError(f"gunicorn exited ({server.returncode}):\n{read_log(log)}")
        status, _ = get_once(port, "/", cookie="", host=host)
        if isinstance(status, int):
            return
        time.sleep(0.2)
    raise CommandError(f"gunicorn did not answer within {START_SECONDS} s:\n{read_log(log)}")


def read_log(log):
    log.flush()
    log.seek(0)
    return tail(log.read())


def stop(server):
    """TERM to the master (it stops its workers); KILL to its whole group if it is still
    there after STOP_SECONDS more."""
    if server.poll() is None:
        server.terminate()
    try:
        server.wait(STOP_SECONDS + 5)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def session_cookie(user):
    """The cookie of a new signed-in session of `user`, as django.contrib.auth.login
    would have made it (without hashing a password); its key, to delete after."""
    session = SessionStore()
    session[SESSION_KEY] = user._meta.pk.value_to_string(user)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session[REFRESHED_AT] = int(time.time())
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}", session.session_key


@dataclass(frozen=True)
class Target:
    label: str
    viewer: str  # who is signed in
    path: str


@dataclass
class Result:
    target: Target
    alone: list  # seconds of ALONE_RUNS requests one at a time
    load: Load


class Command(BaseCommand):
    help = (
        "Benchmark pages as users wait for them (PostgreSQL only): start gunicorn on "
        "loopback over bench_dashboards' dataset, then load each page with a fixed number "
        "of connections for a fixed time; print requests/s, p50, p99 and errors."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--rows",
            "--observations",
            dest="rows",
            type=positive,
            help=f"Observations the table should hold at least (default {dataset.DEFAULT_ROWS:,}).",
        )
        parser.add_argument(
            "--connections",
            type=positive,
            default=DEFAULT_CONNECTIONS,
            help=f"Connections kept busy on each page (default {DEFAULT_CONNECTIONS}).",
        )
        parser.add_argument(
            "--seconds",
            type=seconds_value,
            default=DEFAULT_SECONDS,
            help=f"How long each page is loaded (default {DEFAULT_SECONDS:g}).",
        )
        parser.add_argument(
            "--workers",
            type=positive,
            default=DEFAULT_WORKERS,
            help=f"gunicorn sync workers (default {DEFAULT_WORKERS}, as in production).",
        )
        parser.add_argument(
            "--keep", action="store_true", help="Leave the rows added now for the next run."
        )

    def handle(self, *, rows, connections, seconds, workers, keep, **options):
        if connection.vendor != "postgresql":
            raise CommandError(
                f"bench_http measures the app as production runs it, on PostgreSQL; this "
                f"database is {connection.vendor}. Set DATABASE_URL=postgres://USER@HOST/DB "
                "(a scratch database: the dataset is built in it)."
            )
        today = timezone.localdate()
        added = dashboards.Added(
            f"{dataset.KEY_PREFIX}{timezone.now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}:"
        )
        sessions = []
        try:
            people = self.prepare(rows or dataset.DEFAULT_ROWS, today, added)
            cookies = {}
            for role, person in people.items():
                cookies[role], key = session_cookie(person.user)
                sessions.append(key)
            connection.close()  # nothing of this process holds the database while measuring
            self.measure(cookies, connections, seconds, workers)
        finally:
            SessionStore.get_model_class().objects.filter(session_key__in=sessions).delete()
            if not keep:
                dashboards.Command(stdout=self.stdout).report_removed(
                    dashboards.remove_added(added)
                )

    def prepare(self, wanted, today, added):
        """{role: Person} of bench_dashboards' people, on its dataset."""
        bench = dashboards.Command(stdout=self.stdout, stderr=self.stderr)
        slugs, admin = bench.prepare(wanted, today, added)
        org, size = dashboards.median_organization(slugs)
        leader = dashboards.find_leader(org, today) or dashboards.make_leader(org, today, added)
        coach, caseload = dashboards.busiest_coach(org, today)
        self.stdout.write(
            f"\nSigned in: leader {leader.email} of {org.name}, the median organization "
            f"({size:,} people); its busiest coach {coach.email} (caseload {caseload}); "
            f"purveyor admin {admin.email}."
        )
        return {"leader": leader, "coach": coach, "purveyor admin": admin}

    def measure(self, cookies, connections, seconds, workers):
        port = free_port()
        env = server_environment()
        self.stdout.write(f"Static files collected in {collect_static(env):.1f} s.")
        targets = pages()
        with gunicorn(workers, env, port) as served:
            self.stdout.write(
                f"gunicorn on {HOST}:{port}, {workers} sync workers, DEBUG off; "
                f"{connections} connections for {seconds:g} s per page."
            )
            for target in targets:  # every worker has imported and rendered every page
                load_page(port, target, cookies, min(connections, workers), WARMUP_SECONDS)
            cold, warm = cold_and_warm(port, reverse("dashboards:leader"), cookies["leader"])
            download = roster_csv(port, cookies["purveyor admin"])
            results = [
                Result(
                    target,
                    alone(port, target, cookies),
                    load_page(port, target, cookies, connections, seconds),
                )
                for target in targets
            ]
            log = served.log_tail()
        self.report(cold, warm, results)
        self.report_download(download)
        failed = sum(result.load.errors for result in results) + (cold[0] != 200)
        if failed:
            raise CommandError(
                f"{failed} answers were not 200 (see above). gunicorn's log ends:\n{log}"
            )

    def report(self, cold, warm, results):
        (cold_status, cold_seconds), warm_seconds = cold, warm
        cold_note = "" if cold_status == 200 else f"  (answered {cold_status}: an ERROR)"
        warm_ms = statistics.median(warm_seconds) * 1000
        self.stdout.write(
            f"\nLeader dashboard, alone: cold (every kept section stale) "
            f"{cold_seconds * 1000:.1f} ms{cold_note}; warm {warm_ms:.1f} ms "
            f"(median of {len(warm_seconds)})."
        )
        line = "  {:<37} {:>8} {:>9} {:>7} {:>7} {:>8} {:>8} {:>6}  {}"
        header = ("Page", "Alone ms", "Requests", "Took s", "Req/s", "p50 ms", "p99 ms", "Errors")
        self.stdout.write("\n" + line.format(*header, "").rstrip())
        for result in results:
            load = result.load
            self.stdout.write(
                line.format(
                    result.target.label,
                    f"{statistics.median(result.alone) * 1000:.1f}",
                    load.requests,
                    f"{load.elapsed:.1f}",
                    f"{load.per_second:.1f}",
                    shown(load.ms(0.5)),
                    shown(load.ms(0.99)),
                    load.errors,
                    load.error_kinds(),
                ).rstrip()
            )
        self.stdout.write(
            f"Alone: the median of {ALONE_RUNS} requests one at a time. Under load, a request "
            "under way when the time is up is finished and counted: a page slower than the "
            "time takes longer (Took s), and Req/s is over all of it."
        )
        cpu = sum(result.load.cpu for result in results)
        elapsed = sum(result.load.elapsed for result in results)
        if elapsed:
            self.stdout.write(
                f"The load driver itself used {cpu:.1f} s of CPU over {elapsed:.1f} s of load "
                f"({cpu / elapsed:.1%} of one core)."
            )

    def report_download(self, download):
        path, fetched = download
        firsts = [first for _, first, _ in fetched]
        wholes = [whole for _, _, whole in fetched]
        self.stdout.write(
            f"Roster CSV {path}, purveyor admin, alone: first byte "
            f"{statistics.median(firsts) * 1000:.1f} ms, whole download "
            f"{statistics.median(wholes) * 1000:.1f} ms (median of {len(fetched)})."
        )


def roster_csv(port, cookie):
    """(path, [(status, first byte s, whole s)]) of the roster's CSV fetched ALONE_RUNS
    times one at a time, after one untimed fetch."""
    path = reverse("certification:roster", args=[ROSTER_PROGRAM]) + "?format=csv"
    fetched = [first_byte(port, path, cookie) for _ in range(ALONE_RUNS + 1)][1:]
    failed = [status for status, *_ in fetched if status != 200]
    if failed:
        raise CommandError(f"{path} answered {failed[0]} to the purveyor admin.")
    return path, fetched


def shown(ms):
    return "—" if ms is None else f"{ms:.1f}"


def pages():
    """What is loaded, in order, and as whom."""
    leader = reverse("dashboards:leader")
    roster = reverse("certification:roster", args=[ROSTER_PROGRAM])
    return [
        Target(f"Leader dashboard {leader}", "leader", leader),
        Target(
            f"Coach dashboard {reverse('dashboards:coach')}", "coach", reverse("dashboards:coach")
        ),
        Target(
            f"Observations {reverse('observations:list')}", "leader", reverse("observations:list")
        ),
        Target(f"All organizations {leader}", "purveyor admin", leader),
        Target(f"Roster {roster}", "purveyor admin", roster),
        Target(
            f"Decision queue {reverse('certification:queue')}",
            "purveyor admin",
            reverse("certification:queue"),
        ),
    ]


def load_page(port, target, cookies, connections, seconds):
    cookie = cookies[target.viewer]
    return drive(port, target.path, cookie=cookie, connections=connections, seconds=seconds)


def alone(port, target, cookies):
    """Seconds of ALONE_RUNS requests one after the other, after one untimed request that
    keeps again what the bump of cold_and_warm made stale: the page's own time, without
    a queue in front of it."""
    cookie = cookies[target.viewer]
    fetched = [get_once(port, target.path, cookie) for _ in range(ALONE_RUNS + 1)][1:]
    failed = [status for status, _ in fetched if status != 200]
    if failed:
        raise CommandError(f"{target.path} answered {failed[0]} to the {target.viewer}.")
    return [took for _, took in fetched]


def cold_and_warm(port, path, cookie):
    """((status, seconds) of the first request after every kept dashboard section went
    stale, [seconds of the WARM_RUNS requests after it])."""
    generations.bump(everyone=True)
    cold = get_once(port, path, cookie)
    warm = []
    for _ in range(WARM_RUNS):
        status, took = get_once(port, path, cookie)
        if status != 200:
            raise CommandError(f"{path} answered {status} to the leader.")
        warm.append(took)
    return cold, warm
