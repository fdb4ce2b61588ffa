import contextlib
import copy
import logging
import os
import socket
import time
from types import SimpleNamespace
from urllib.parse import urlparse

import pytest
from pytest_django import plugin as django_plugin
from pytest_django.fixtures import validate_django_db

from tests.audit_guard import Guard
from tests.factories import FAST_HASHERS, make_assignment, make_org, make_person, make_team

ON_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(available, why):
    """Skip a test whose service is missing, saying why; on CI a missing service fails."""
    if available:
        return
    if ON_CI:
        pytest.fail(f"CI must provide this: {why}", pytrace=False)
    pytest.skip(why)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """On CI a skipped test is a failed one, whatever skipped it."""
    report = yield
    if ON_CI and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"Skipped on CI, where every test must run: {report.longrepr}"
    return report


def port_open(url, default_port):
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), 1
        ):
            return True
    except OSError:
        return False


def wait_until(predicate, seconds=20, every=0.2):
    """Poll until predicate() is true; False if it never was within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False


@pytest.fixture(autouse=True)
def _fast_and_quiet(settings):
    settings.PASSWORD_HASHERS = FAST_HASHERS
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _no_sections_kept_from_earlier_tests():
    """Ids come round again from test to test: what an earlier test kept for
    organization 2 must not be read as this one's (miiwrap.generations)."""
    from miiwrap import generations

    generations.bump(everyone=True)


@pytest.fixture(autouse=True)
def _bulk_writes_declared(monkeypatch):
    """Every test also checks that a bulk write to rows that feed a dashboard is declared
    to miiwrap.generations (see tests/generation_guard.py)."""
    from tests.generation_guard import Guard

    guard = Guard()
    guard.install(monkeypatch)
    yield guard
    if found := guard.found:
        pytest.fail("\n".join(sorted(set(found))), pytrace=False)


@pytest.fixture(autouse=True)
def _bulk_writes_keep_history(monkeypatch):
    """Every test also checks that audited records are never changed in bulk without
    a history row (see tests/audit_guard.py)."""
    guard = Guard()
    guard.install(monkeypatch)
    yield guard
    if guard.found:
        pytest.fail("\n".join(guard.found), pytrace=False)


@pytest.fixture(autouse=True)
def _root_log_level_kept():
    """A Celery test worker leaves the root logger at ERROR; a later test in the same
    process that reads a warning from caplog would then find none, depending on which
    tests a parallel run happened to give that process before it."""
    root = logging.getLogger()
    level = root.level
    yield
    root.setLevel(level)


@pytest.fixture(autouse=True)
def _empty_queue_for_a_real_worker(request):
    """A test with a real worker starts from an empty queue: what earlier tests queued,
    for rows long gone, must not reach its worker."""
    if request.node.get_closest_marker("redis") is None:
        return
    from miiwrap.celery import app

    with contextlib.suppress(Exception):  # no broker: the test says so itself
        app.control.purge()


@pytest.fixture
def threads_close_connections(monkeypatch):
    """Connections opened by other threads (a worker, a live server) close after each use.

    With connection reuse they would stay open after the test, and PostgreSQL refuses
    to drop a test database that still has sessions.
    """
    from django.db import connection

    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)


def load_shipped_rubrics():
    """The shipped rubrics and activity types, as their migration loads them (a no-op when
    they are there). A transactional test's flush empties every table; what runs after
    one gets them back from here."""
    import importlib

    from django.apps import apps

    for name in (
        "0002_ship_rubrics",
        "0009_ship_coaching_rubric",
        "0019_ship_readiness_instrument",
    ):
        importlib.import_module(f"observations.migrations.{name}").load(apps, None)


def load_shipped_programs():
    """The shipped certification programs, likewise."""
    import importlib

    from django.apps import apps

    for name in (
        "0002_ship_programs",
        "0003_rosters_decisions_verification",
        "0006_ship_reminder_rules",
        "0013_coach_evidence_on_coaching_rubric",
        "0017_ship_observer_program",
    ):
        migration = importlib.import_module(f"certification.migrations.{name}")
        for step in ("load", "ship_certifiers", "move"):
            if hasattr(migration, step):
                getattr(migration, step)(apps, None)


@pytest.fixture
def shipped_rubrics(transactional_db):
    """The shipped rubrics, for tests that run after a transactional flush (a live
    server, a worker)."""
    load_shipped_rubrics()


@pytest.fixture
def shipped_programs(shipped_rubrics):
    """The shipped certification programs, after a transactional flush."""
    load_shipped_programs()


class DemoWorld:
    """The demo world, shared by every test that reads it: built for the first of them and
    removed before the first test after them that does not read it.

    Building it takes half a minute, so the tests that read it run one after another in
    one process (`pytest_collection_modifyitems` puts them first and in one xdist group),
    and it is built once per run. Each test still runs in a transaction rolled back after
    it, so what a test writes stays its own.
    """

    GROUP = "demo-world"

    def __init__(self):
        self._built = None  # the context manager that removes it, while it stands
        self.output = None

    def ensure(self, django_db_blocker):
        if self._built is None:
            from tests.factories import demo_world

            self._built = demo_world(django_db_blocker)
            self.output = self._built.__enter__()
        return self.output

    def remove(self):
        if self._built is not None:
            built, self._built, self.output = self._built, None, None
            built.__exit__(None, None, None)

    @staticmethod
    def reads(item):
        return item is not None and "demo_seeded" in getattr(item, "fixturenames", ())

    @staticmethod
    def changes(item):
        """A module whose tests write to the world outside their transactions (the hostile
        sweep) runs last among them, and the world is removed after it."""
        return item is not None and item.get_closest_marker("changes_demo_world") is not None


DEMO = DemoWorld()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Keep what is built once for many tests built once in a parallel run.

    First (before xdist reads the groups) the order pytest-django gives: the database tests,
    then the transactional ones, then the rest; its own sort later keeps ours, being stable
    and ours keeping each test in its kind. The demo world's readers (all database tests) go
    first, in one xdist group, those that change the world last of them. Tests that share a
    module-wide fixture go in a group of their module's, so that one process runs them one
    after another and builds the fixture once, not once per process and again each time its
    tests are interleaved with another module's. `--dist loadgroup --no-loadscope-reorder`
    (pyproject.toml) keeps each group whole and the order as it is; other tests go one by
    one to whichever process is free.
    """
    django_plugin.pytest_collection_modifyitems(items)
    readers = [item for item in items if DEMO.reads(item)]
    readers.sort(key=DEMO.changes)  # stable: each module's tests stay together and in order
    chosen = set(map(id, readers))
    items[:] = readers + [item for item in items if id(item) not in chosen]
    for item in readers:
        item.add_marker(pytest.mark.xdist_group(DEMO.GROUP))
    # A module's tests are apart when pytest-django moved its transactional ones after the
    # other modules' database tests: each stretch is a group of its own, in its place.
    stretches, previous = {}, None
    for item in items:
        module = item.nodeid.split("::")[0]
        if module != previous:
            stretches[module] = stretches.get(module, 0) + 1
            previous = module
        if id(item) not in chosen and _shares_a_module_fixture(item):
            item.add_marker(pytest.mark.xdist_group(f"{module}#{stretches[module]}"))


def _shares_a_module_fixture(item):
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(defs and defs[-1].scope == "module" for defs in info.name2fixturedefs.values())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """After the module's own fixtures are torn down: remove the demo world when the next
    test does not read it, or when this test's module changed it and the next is another.
    The kept world (KeptWorld) needs to know the next test before the teardown."""
    KEPT.next_item = nextitem
    result = yield
    if KEPT.key_of(nextitem) != KEPT.key:  # closed already, unless its setup failed
        KEPT.close()
    changed = DEMO.changes(item) and (nextitem is None or nextitem.module is not item.module)
    if not DEMO.reads(nextitem) or changed:
        DEMO.remove()
    return result


@pytest.fixture(scope="session")
def _demo_world_removed_in_time(django_db_setup):
    """When the demo world's readers are the last tests a process runs, remove it before
    the test database is dropped: after that, the connection is back on the database
    DATABASE_URL names, and the removal would empty that one."""
    yield
    DEMO.remove()


@pytest.fixture(scope="module")
def demo_seeded(_demo_world_removed_in_time, django_db_setup, django_db_blocker):
    """The demo world, for a module of tests that only read it (see DemoWorld)."""
    return DEMO.ensure(django_db_blocker)


@pytest.fixture
def demo_output(demo_seeded, db):
    """What seed_demo printed building the module's demo world."""
    return demo_seeded


def make_world():
    """Three organizations and the personas that every access test uses.

    Riverbend is home: a coach (also a practitioner) with one assigned practitioner,
    a practitioner on another team the coach does not coach, a leader and an
    organization admin. The purveyor has its admin. Elsewhere has an outsider who
    leads, coaches and administers there, so any leak across organizations shows.
    """
    purveyor = make_org("MiiWrap Purveyor", is_purveyor=True)
    home = make_org("Riverbend Family Services")
    away = make_org("Elsewhere County")
    team_a, team_b = make_team(home, "North"), make_team(home, "South")
    away_team = make_team(away, "East")
    coach = make_person(home, "coach", "practitioner", team=team_a, first_name="Cora")
    practitioner = make_person(home, "practitioner", team=team_a, first_name="Pat")
    unassigned = make_person(home, "practitioner", team=team_b, first_name="Uma")
    leader = make_person(home, "leader", team=team_a, first_name="Lee")
    org_admin = make_person(home, "org_admin", first_name="Ada")
    purveyor_admin = make_person(purveyor, "purveyor_admin", first_name="Pia")
    outsider = make_person(away, "leader", "coach", "org_admin", team=away_team, first_name="Otto")
    away_practitioner = make_person(away, "practitioner", team=away_team, first_name="Ari")
    make_assignment(coach, practitioner)
    make_assignment(outsider, away_practitioner)
    return SimpleNamespace(
        purveyor=purveyor,
        home=home,
        away=away,
        team_a=team_a,
        team_b=team_b,
        away_team=away_team,
        coach=coach,
        practitioner=practitioner,
        unassigned=unassigned,
        leader=leader,
        org_admin=org_admin,
        purveyor_admin=purveyor_admin,
        outsider=outsider,
        away_practitioner=away_practitioner,
    )


class KeptWorld:
    """`world`, built once for the tests of a module that read it one after another.

    Nine people with logins, roles, periods and history take tens of milliseconds to
    build, and thousands of tests read them: a run took a ninth longer when each test
    built its own. So the first reader's database setup opens a
    transaction and builds the world in it; that test's own transaction, and each later
    reader's, is a savepoint inside it, rolled back after the test as always. Each reader
    gets its own deep copy of the objects, as Django's `setUpTestData` gives, so what one
    test changes in memory does not reach the next.

    The outer transaction is rolled back once the test's own is (pytest_fixture_post_finalizer,
    before any module fixture is torn down) when the next test is not a reader of the same
    world: another module, a test that does not read it, a transactional test (which cannot
    run inside a transaction), or a different time travel (the world is built at the
    test's time).
    """

    def __init__(self):
        self.key = None  # whose world stands: see key_of
        self.next_item = None  # the test after the one being torn down
        self._data = None
        self._atomic = None
        self._blocker = None

    @staticmethod
    def key_of(item):
        """What a test's world depends on, or None when the test cannot share one."""
        if item is None or "world" not in getattr(item, "fixturenames", ()):
            return None
        if _transactional(item):
            return None
        travel = item.get_closest_marker("time_machine")
        return (item.nodeid.split("::")[0], repr(travel and (travel.args, travel.kwargs)))

    def open(self, key, blocker):
        if key == self.key:
            return
        self.close()
        from django.db import transaction
        from django.test import override_settings

        with blocker.unblock():
            atomic = transaction.atomic()
            atomic.__enter__()
            atomic._from_testcase = True  # as Django marks its test transactions
            try:
                with override_settings(PASSWORD_HASHERS=FAST_HASHERS):
                    data = make_world()
            except BaseException:
                transaction.set_rollback(True)
                atomic.__exit__(None, None, None)
                raise
        self.key, self._data, self._atomic, self._blocker = key, data, atomic, blocker

    def close(self):
        if self._atomic is None:
            return
        from django.db import transaction

        atomic, self._atomic = self._atomic, None
        self.key = self._data = None
        with self._blocker.unblock():
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)

    def copy_for(self, item):
        if self.key is None or self.key_of(item) != self.key:
            return None
        return copy.deepcopy(self._data)


KEPT = KeptWorld()


def _transactional(item):
    """Whether pytest-django runs the test as a TransactionTestCase (its own rule)."""
    marker = item.get_closest_marker("django_db")
    transactional = reset = serialized = False
    if marker:
        transactional, reset, _, serialized, _ = validate_django_db(marker)
    names = item.fixturenames
    return (
        transactional
        or reset
        or serialized
        or not {"transactional_db", "live_server", "django_db_reset_sequences"}.isdisjoint(names)
        or "django_db_serialized_rollback" in names
    )


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef, request):
    """Open the kept world before a reader's own transaction (KeptWorld)."""
    if fixturedef.argname == "_django_db_helper":
        key = KEPT.key_of(request.node)
        if key is None:
            KEPT.close()
        else:
            KEPT.open(key, request.getfixturevalue("django_db_blocker"))
    return (yield)


def pytest_fixture_post_finalizer(fixturedef, request):
    """Roll the kept world back after the test's own transaction, unless the next test
    reads it too (KeptWorld)."""
    ours = fixturedef.argname == "_django_db_helper" and KEPT.key is not None
    if ours and KEPT.key_of(KEPT.next_item) != KEPT.key:
        KEPT.close()


@pytest.fixture
def world(request, db):
    """Three organizations and the personas that every access test uses (make_world).

    A database test gets its own copy of the world its module's tests share (KeptWorld);
    a transactional test, which cannot share it, gets one of its own.
    """
    kept = KEPT.copy_for(request.node)
    return kept if kept is not None else make_world()


@pytest.fixture
def login(client):
    """login(person) signs the test client in as that person's user."""

    def _login(person):
        client.force_login(person.user)
        return client

    return _login
