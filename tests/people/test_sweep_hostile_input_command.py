"""manage.py sweep_hostile_input: the full hostile-input matrix, reported and rolled back."""

import io

import pytest
from django.contrib.sessions.models import Session
from django.core.management import CommandError, call_command

from observations.models import Observation
from tests.factories import make_observation


def sweep(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("sweep_hostile_input", *args, stdout=out, stderr=err)
    return out.getvalue()


def test_without_people_it_asks_for_the_demo_data(db):
    with pytest.raises(CommandError, match="run seed_demo first"):
        sweep()


@pytest.fixture
def crashing_site(world, settings):
    make_observation(world.coach, world.practitioner)
    settings.ROOT_URLCONF = "tests.miiwrap.sweep_urls"


def test_it_counts_the_5xx_and_fails(crashing_site):
    with pytest.raises(CommandError, match="server errors"):
        sweep("--sample", "2")


def test_it_prints_the_size_of_the_matrix_and_each_5xx(crashing_site):
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("sweep_hostile_input", stdout=out, stderr=io.StringIO())
    report = out.getvalue()
    assert "3 URL patterns × 6 personas" in report
    assert "× 16 of 16 hostile values" in report
    assert "ValueError" in report


def test_it_leaves_nothing_behind(crashing_site):
    before = (Observation.objects.count(), Session.objects.count())
    with pytest.raises(CommandError):
        sweep("--sample", "1")
    # Signing the personas in saved sessions; they went with the rest.
    assert (Observation.objects.count(), Session.objects.count()) == before
