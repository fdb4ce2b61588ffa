"""The rule that decides when a kept dashboard section is stale (miiwrap/generations.py)."""

import os
import subprocess
import sys
import threading
import time

import pytest
from django.conf import settings
from django.db import transaction

from miiwrap import generations
from tests.factories import make_org


class Counting:
    """A section's compute that counts its calls."""

    def __init__(self):
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return {"n": self.calls}


def read(organizations, compute, parts=("2026-12-04",)):
    return generations.Kept(organizations, parts)("test.section", compute)


def test_a_section_is_kept_until_one_of_its_organizations_is_touched():
    compute = Counting()
    assert read([1, 2], compute) == {"n": 1}
    assert read([1, 2], compute) == {"n": 1}
    generations.bump([3])  # another organization's write
    assert read([1, 2], compute) == {"n": 1}
    generations.bump([2])
    assert read([1, 2], compute) == {"n": 2}
    generations.bump(everyone=True)  # a rubric or a program changed
    assert read([1, 2], compute) == {"n": 3}


def test_other_parts_are_other_sections():
    compute = Counting()
    read([1], compute, parts=("2026-12-04",))
    read([1], compute, parts=("2026-12-05",))  # the next local day
    assert compute.calls == 2


def test_each_organizations_part_is_kept_until_that_organization_is_touched():
    asked = []

    def compute(ids):
        asked.append(list(ids))
        return {pk: f"part of {pk}, read {len(asked)}" for pk in ids if pk != 3}

    def parts():
        return generations.Kept([1, 2, 3], ("2026-12-04",)).each("test.parts", compute)

    assert parts() == {1: "part of 1, read 1", 2: "part of 2, read 1", 3: None}
    assert parts() == {1: "part of 1, read 1", 2: "part of 2, read 1", 3: None}
    generations.bump([2])
    assert parts() == {1: "part of 1, read 1", 2: "part of 2, read 2", 3: None}
    generations.bump(everyone=True)
    assert parts() == {1: "part of 1, read 3", 2: "part of 2, read 3", 3: None}
    # Read in one pass while missing together; the part left out was kept as None.
    assert asked == [[1, 2, 3], [2], [1, 2, 3]]
    with generations.uncached():
        parts()
    assert asked[-1] == [1, 2, 3]


def test_uncached_computes_every_time():
    compute = Counting()
    with generations.uncached():
        read([1], compute)
        read([1], compute)
    assert compute.calls == 2


def test_readers_missing_at_once_wait_for_the_first_to_compute_the_section():
    """After a bump, twenty requests for one page miss together: one computes."""
    started, release = threading.Event(), threading.Event()
    calls, found = [], []

    def slow():
        calls.append(1)
        started.set()
        release.wait(5)
        return {"n": len(calls)}

    first = threading.Thread(target=lambda: found.append(read([41], slow)))
    first.start()
    started.wait(5)
    others = [threading.Thread(target=lambda: found.append(read([41], slow))) for _ in range(3)]
    for thread in others:
        thread.start()
    time.sleep(0.2)  # the others are waiting, not computing
    assert calls == [1]
    release.set()
    for thread in [first, *others]:
        thread.join(10)
    assert calls == [1]
    assert found == [{"n": 1}] * 4


def test_a_reader_waiting_on_a_failed_claim_computes_it_itself():
    failing = threading.Event()

    def fails():
        failing.set()
        time.sleep(0.2)
        raise RuntimeError("the database went away")

    errors = []

    def first():
        try:
            read([42], fails)
        except RuntimeError as error:
            errors.append(error)

    thread = threading.Thread(target=first)
    thread.start()
    failing.wait(5)
    compute = Counting()
    assert read([42], compute) == {"n": 1}  # waited, saw the claim go, computed
    thread.join(5)
    assert len(errors) == 1 and compute.calls == 1


def test_a_none_result_is_kept_too():
    calls = []
    for _ in range(2):
        generations.Kept([1], ())("test.none", lambda: calls.append(1))
    assert calls == [1]


@pytest.mark.django_db(transaction=True)
def test_a_write_in_a_transaction_bumps_now_and_again_at_commit():
    """Now, so the writer's next read sees its write; at commit, so a page another
    process kept from the rows as they were before the commit is not read after it."""
    compute = Counting()
    read([7], compute)
    with transaction.atomic():
        generations.touched(7)
        assert read([7], compute) == {"n": 2}
        read([7], compute)  # another process, reading the rows before the commit
    assert read([7], compute) == {"n": 3}


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_write_costs_a_recompute_never_a_stale_figure():
    compute = Counting()
    read([7], compute)
    with pytest.raises(RuntimeError), transaction.atomic():
        generations.touched(7)
        raise RuntimeError
    assert read([7], compute) == {"n": 2}


def test_saving_a_registered_model_touches_its_organization(db, django_capture_on_commit_callbacks):
    org = make_org("Riverbend")
    compute = Counting()
    read([org.pk], compute)
    with django_capture_on_commit_callbacks(execute=True):
        org.name = "Riverbend Family Services"
        org.save()
    assert read([org.pk], compute) == {"n": 2}


def test_every_web_and_worker_process_shares_the_generations():
    """Another process (a worker, say) bumps an organization: this one sees it."""
    compute = Counting()
    read([42], compute)
    code = "import django; django.setup(); from miiwrap import generations; generations.bump([42])"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "miiwrap.settings"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=60)
    assert read([42], compute) == {"n": 2}


def test_the_cache_is_one_every_process_can_reach():
    backend = settings.CACHES["default"]["BACKEND"]
    assert backend.endswith(("RedisCache", "FileBasedCache"))


@pytest.mark.django_db(transaction=True)
def test_a_loop_of_writes_bumps_once_now_and_once_at_commit_until_a_read(monkeypatch):
    bumps = []
    real = generations.bump
    monkeypatch.setattr(generations, "bump", lambda *a, **k: (bumps.append(a), real(*a, **k)))
    compute = Counting()
    with transaction.atomic():
        for _ in range(1000):
            generations.touched(7)
        assert len(bumps) == 1
        assert read([7], compute) == {"n": 1}
        generations.touched(7)  # after a read: bumped again, and read afresh
        assert len(bumps) == 2
        assert read([7], compute) == {"n": 2}
    assert len(bumps) == 3  # the commit's
