"""requirements.lock: every install runs on its exact versions, and a stale lock says so."""

import re
import subprocess

import pytest

from miiwrap import dev

PIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*==[A-Za-z0-9.+!-]+$")


def lock_lines():
    return [line for line in dev.LOCK.read_text().splitlines() if not line.startswith("#")]


def test_the_lock_pins_every_package_pyproject_asks_for():
    assert dev.unlocked(dev.requirements(), dev.LOCK.read_text()) == [], (
        "refresh it with python3 miiwrap/dev.py lock"
    )


def test_every_line_of_the_lock_is_one_exact_version():
    assert lock_lines()
    assert [line for line in lock_lines() if not PIN.match(line)] == []


def test_the_lock_says_how_to_refresh_it():
    assert "#     python3 miiwrap/dev.py lock" in dev.LOCK.read_text()


def test_a_requirement_the_lock_lacks_is_named_whatever_its_spelling():
    lock = "# django-axes is not pinned here\nDjango==5.2.1\npsycopg==3.3\ntyping_extensions==4\n"
    wanted = ["django>=5.2", "django-axes>=8", "psycopg[binary]>=3.2", "typing.extensions"]
    assert dev.unlocked(wanted, lock) == ["django-axes>=8"]


def test_an_install_with_a_stale_lock_stops_and_gives_the_refresh_command(tmp_path, monkeypatch):
    stale = tmp_path / "requirements.lock"
    stale.write_text("django==5.2.1\n")
    monkeypatch.setattr(dev, "LOCK", stale)
    monkeypatch.setattr(dev, "requirements", lambda: ["Django>=5.2", "django-axes>=8"])
    monkeypatch.setattr(dev.venv, "EnvBuilder", None)  # nothing may be installed

    with pytest.raises(SystemExit) as stopped:
        dev.ensure_installed()

    assert "django-axes>=8" in str(stopped.value)
    assert "python3 miiwrap/dev.py lock" in str(stopped.value)


def test_pins_are_written_sorted_whatever_the_case_of_their_names():
    report = {
        "install": [
            {"metadata": {"name": "sqlparse", "version": "0.5.3"}},
            {"metadata": {"name": "Django", "version": "5.2.1"}},
            {"metadata": {"name": "asgiref", "version": "3.8.1"}},
        ]
    }
    assert dev.pins_from_report(report) == "asgiref==3.8.1\nDjango==5.2.1\nsqlparse==0.5.3\n"


def test_the_test_command_runs_on_every_core_unless_told_otherwise(monkeypatch):
    ran = []
    monkeypatch.setattr(dev, "ensure_installed", lambda: None)
    monkeypatch.setattr(
        dev.subprocess,
        "run",
        lambda command, **kw: ran.append(command) or subprocess.CompletedProcess(command, 0),
    )

    assert dev.main(["test", "-k", "foo", "-n", "0"]) == 0

    # pytest takes the last -n it is given: the user's.
    assert ran[0][-6:] == ["-n", "auto", "-k", "foo", "-n", "0"]
