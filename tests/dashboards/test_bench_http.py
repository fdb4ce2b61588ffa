"""bench_http's parts that need no dataset: the percentile, the load driver against a tiny
server on loopback, gunicorn started and stopped, the sessions it signs in with, and its
refusals. The benchmark itself runs only on PostgreSQL, by hand."""

import http.server
import io
import os
import re
import signal
import socket
import threading
import time

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.urls import reverse

from miiwrap.dashboards.management.commands import bench_http
from miiwrap.dashboards.management.commands.bench_http import (
    Load,
    Result,
    Target,
    drive,
    free_port,
    gunicorn,
    percentile,
    server_environment,
    session_cookie,
)
from tests.factories import make_org, make_person


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        ([5], 0.5, 5),
        ([5], 0.99, 5),
        ([4, 1, 3, 2], 0.5, 2),
        ([4, 1, 3, 2], 0.75, 3),
        ([4, 1, 3, 2], 0.76, 4),
        (list(range(1, 101)), 0.99, 99),
        (list(range(1, 101)), 1.0, 100),
        (list(range(1, 1001)), 0.99, 990),
    ],
)
def test_the_percentile_is_the_nearest_rank_a_value_measured(values, fraction, expected):
    assert percentile(values, fraction) == expected


def test_no_values_have_no_percentile_and_a_fraction_out_of_range_is_refused():
    assert percentile([], 0.5) is None
    with pytest.raises(ValueError):
        percentile([1, 2], 0)
    with pytest.raises(ValueError):
        percentile([1, 2], 1.5)


class Handler(http.server.BaseHTTPRequestHandler):
    """200 with the cookie it was sent on /ok (keeping the connection), 404 elsewhere,
    and on /close a 200 that closes the connection, as gunicorn's sync workers do."""

    protocol_version = "HTTP/1.1"
    cookies = []
    connections = set()

    def do_GET(self):
        Handler.cookies.append(self.headers.get("Cookie"))
        Handler.connections.add(self.client_address)
        time.sleep(0.002)
        status = 404 if self.path == "/missing" else 200
        body = (self.headers.get("Cookie") or "").encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        if self.path == "/close":
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    Handler.cookies, Handler.connections = [], set()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def test_the_driver_keeps_its_connections_busy_for_the_time_given(server):
    started = time.perf_counter()
    load = drive(server, "/ok", cookie="sessionid=abc", connections=4, seconds=0.5)
    assert 0.5 <= load.elapsed <= time.perf_counter() - started < 2.5
    assert load.requests > 4 and load.errors == 0
    assert len(load.seconds) == load.requests
    assert 0 < load.cpu < load.elapsed * 2
    assert load.per_second == pytest.approx(load.requests / load.elapsed)
    assert 0 < load.ms(0.5) <= load.ms(0.99)
    assert set(Handler.cookies) == {"sessionid=abc"}
    assert len(Handler.connections) == 4  # more requests than that: kept alive


def test_a_server_that_closes_each_connection_is_reconnected_to(server):
    load = drive(server, "/close", cookie="", connections=2, seconds=0.2)
    assert load.errors == 0 and load.requests > 4
    assert len(Handler.connections) == load.requests


def test_every_answer_but_a_200_is_counted_and_named_as_an_error(server):
    load = drive(server, "/missing", cookie="a=b", connections=2, seconds=0.2)
    assert load.requests > 0 and load.errors == load.requests
    assert load.seconds == [] and load.ms(0.5) is None
    assert load.error_kinds() == f"404 ×{load.requests}"


def test_a_page_alone_is_timed_one_request_at_a_time_after_an_untimed_one(server):
    took = bench_http.alone(server, Target("Page", "leader", "/ok"), {"leader": "k=v"})
    assert len(took) == bench_http.ALONE_RUNS and all(t > 0 for t in took)
    assert Handler.cookies == ["k=v"] * (bench_http.ALONE_RUNS + 1)
    assert len(Handler.connections) == bench_http.ALONE_RUNS + 1
    with pytest.raises(CommandError, match="/missing answered 404 to the coach"):
        bench_http.alone(server, Target("Page", "coach", "/missing"), {"coach": ""})


def test_the_report_has_a_row_per_page_and_names_its_errors():
    load = Load(seconds=[0.1, 0.2, 0.3], elapsed=2.0, cpu=0.1)
    load.statuses.update({200: 3, 502: 1})
    out = io.StringIO()
    results = [Result(Target("Leader dashboard /dashboards/", "leader", "/"), [0.05], load)]
    bench_http.Command(stdout=out).report((200, 0.4), [0.1, 0.12, 0.5], results)
    text = out.getvalue()
    assert "cold (every kept section stale) 400.0 ms; warm 120.0 ms (median of 3)" in text
    row = re.search(r"^  Leader dashboard /dashboards/ +(.+)$", text, re.MULTILINE).group(1)
    assert row.split() == ["50.0", "4", "2.0", "2.0", "200.0", "300.0", "1", "502", "×1"]
    assert "used 0.1 s of CPU over 2.0 s of load (5.0% of one core)" in text


def test_a_server_not_there_gives_errors_not_a_crash():
    load = drive(free_port(), "/", cookie="", connections=2, seconds=0.1)
    assert load.requests > 0 and load.errors == load.requests
    assert "ConnectionRefusedError" in load.error_kinds()


def test_load_error_kinds_mixes_statuses_and_exceptions():
    load = Load()
    load.statuses.update({200: 5, 302: 2, "TimeoutError": 1})
    assert (load.requests, load.errors) == (8, 3)
    assert load.error_kinds() == "302 ×2, TimeoutError ×1"


def listening(port):
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def interrupt():
    raise KeyboardInterrupt  # Ctrl-C


def fail():
    raise RuntimeError("the measure failed")


def terminate():
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("SIGTERM is handled only on the main thread")
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(5)  # the handler interrupts this


@pytest.mark.parametrize(
    ("end", "raised"),
    [(fail, RuntimeError), (interrupt, KeyboardInterrupt), (terminate, SystemExit)],
)
def test_gunicorn_serves_until_the_block_ends_however_it_ends(end, raised):
    port = free_port()
    previous = signal.getsignal(signal.SIGTERM)
    with (
        pytest.raises(raised),
        gunicorn(1, server_environment(), port, "tests.dashboards.wsgi_hello") as served,
    ):
        load = drive(port, "/", cookie="x=1", connections=2, seconds=0.2)
        assert load.requests > 0 and load.errors == 0
        assert "Booting worker" in served.log_tail()
        end()
    assert served.process.poll() is not None
    assert signal.getsignal(signal.SIGTERM) is previous
    assert not listening(port)


def test_a_server_that_cannot_start_is_reported_with_its_log():
    port, app = free_port(), "tests.dashboards.no_such_app"
    failed = pytest.raises(CommandError, match=r"(?s)gunicorn exited .*No module named")
    with failed, gunicorn(1, server_environment(), port, app):
        pass


def test_the_session_made_directly_signs_the_person_in(db):
    person = make_person(make_org(), "leader")
    cookie, key = session_cookie(person.user)
    assert cookie == f"sessionid={key}"
    client = Client()
    client.cookies["sessionid"] = key
    response = client.get(reverse("dashboards:leader"), secure=True)
    assert response.status_code == 200
    assert response.wsgi_request.user == person.user


def test_on_sqlite_it_refuses_with_a_clear_message(db, monkeypatch):
    monkeypatch.setattr(connection, "vendor", "sqlite")
    with pytest.raises(CommandError, match=r"on PostgreSQL; this database is sqlite"):
        call_command("bench_http", "--rows", "10")


@pytest.mark.parametrize(
    "args",
    [
        ["--connections", "0"],
        ["--seconds", "0"],
        ["--seconds", "-1"],
        ["--seconds", "soon"],
        ["--seconds", "nan"],
        ["--workers", "0"],
        ["--rows", "many"],
    ],
)
def test_bad_options_are_refused(db, args):
    with pytest.raises(CommandError):
        call_command("bench_http", *args)


def test_the_server_runs_with_debug_off_and_plain_http_on_loopback():
    env = server_environment()
    assert env["DEBUG"] == "0" and env["SECRET_KEY"]
    assert env["ALLOWED_HOSTS"] == bench_http.HOST == "127.0.0.1"
    assert env["SECURE_SSL_REDIRECT"] == env["SESSION_COOKIE_SECURE"] == "0"
    assert env["CSRF_COOKIE_SECURE"] == "0"
