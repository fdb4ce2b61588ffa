"""The momentum badge wherever a practitioner appears: directory, person page, roster,
observation list and detail; text and arrow as well as colour, and no query per row."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from coaching.models import Momentum
from observations.models import Rubric
from tests.factories import make_assignment, make_observation, make_person, rubric_version

D = dt.date
DIRECTORY = reverse("people:directory")
ROSTER = reverse("certification:roster", args=["practitioner"])
OBSERVATIONS = reverse("observations:list")
TITLE = (
    "the direction of the recent trend, from the slope of the smoothed score; "
    "not the level against the baseline"
)
LAST_SEEN = D(2026, 6, 1)


def momentum(person, direction, rubric="miiwrap-fidelity", seen=LAST_SEEN, slope=0.0):
    return Momentum.objects.create(
        person=person,
        rubric=Rubric.objects.get(code=rubric),
        direction=direction,
        slope=slope,
        last_observed_on=seen,
        computed_on=D(2026, 6, 2),
    )


def badges(html, person):
    """The momentum directions shown beside `person`'s name: in the row (or list item,
    or the page's facts) that holds the name."""
    start = html.index(person.full_name)
    end = min(i for i in (html.find("</tr>", start), html.find("</li>", start)) if i != -1)
    chunk = html[start:end]
    return [part.split('"', 1)[0] for part in chunk.split('data-momentum="')[1:]]


# The badge itself --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("direction", "arrow", "word", "colour"),
    [
        ("building", "↑", "Building", "text-bg-success"),
        ("steady", "→", "Steady", "text-bg-secondary"),
        ("slipping", "↓", "Slipping", "text-bg-warning"),
    ],
)
def test_the_badge_shows_arrow_word_colour_and_why(world, login, direction, arrow, word, colour):
    momentum(world.practitioner, direction)
    html = login(world.leader).get(DIRECTORY).content.decode()
    start = html.index(f'data-momentum="{direction}"')
    badge = html[html.rindex("<span", 0, start) : html.index(f"{word}</span>", start)]
    assert colour in badge
    assert badge.endswith(f'<span aria-hidden="true">{arrow}</span> ')
    assert f'title="Momentum {direction}: {TITLE}"' in badge


def test_no_momentum_shows_no_badge(world, login):
    html = login(world.leader).get(DIRECTORY).content.decode()
    assert "data-momentum" not in html


# The directory -----------------------------------------------------------------------------


def test_the_directory_shows_each_persons_momentum_in_their_row(world, login):
    momentum(world.practitioner, "slipping")
    momentum(world.unassigned, "building")
    html = login(world.leader).get(DIRECTORY).content.decode()
    assert badges(html, world.practitioner) == ["slipping"]
    assert badges(html, world.unassigned) == ["building"]
    assert badges(html, world.leader) == []


def test_the_directory_shows_the_rubric_last_observed_on(world, login):
    momentum(world.practitioner, "slipping", seen=D(2026, 3, 1))
    momentum(world.practitioner, "building", rubric="mi-coding", seen=D(2026, 5, 1))
    html = login(world.coach).get(DIRECTORY).content.decode()
    assert badges(html, world.practitioner) == ["building"]


def test_the_directory_reads_no_query_per_row_for_momentum(world, login):
    client = login(world.leader)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(DIRECTORY).status_code == 200
        return len(captured)

    def add(count):
        for _ in range(count):
            person = make_person(world.home, "practitioner", login=False)
            momentum(person, "steady")

    add(3)
    few = queries()
    add(30)
    assert queries() == few
    assert client.get(DIRECTORY).content.decode().count('data-momentum="steady"') == 33


# The person page ---------------------------------------------------------------------------


def test_the_person_page_shows_momentum_on_each_rubric(world, login):
    momentum(world.practitioner, "slipping", seen=D(2026, 3, 1))
    momentum(world.practitioner, "building", rubric="mi-coding", seen=D(2026, 5, 1))
    html = login(world.coach).get(world.practitioner.get_absolute_url()).content.decode()
    section = html[html.index('<h2 class="h5">Momentum</h2>') :]
    section = section[: section.index("</section>")]
    fidelity = section[section.index('data-rubric="miiwrap-fidelity"') :]
    coding = section[section.index('data-rubric="mi-coding"') :]
    assert "MiiWrap fidelity tool" in fidelity.split("</li>")[0]
    assert 'data-momentum="slipping"' in fidelity.split("</li>")[0]
    assert "last observed 2026-03-01" in fidelity.split("</li>")[0]
    assert "MI coding rubric" in coding.split("</li>")[0]
    assert 'data-momentum="building"' in coding.split("</li>")[0]


def rubric_item(html, code):
    section = html[html.index('<h2 class="h5">Momentum</h2>') :]
    return section[section.index(f'data-rubric="{code}"') :].split("</li>")[0]


def test_on_a_rubric_with_an_alert_not_closed_the_person_page_reads_in_its_terms(world, login):
    from tests.coaching.test_alert_views import make_alert

    momentum(world.practitioner, "steady")
    momentum(world.practitioner, "steady", rubric="mi-coding")
    make_alert(world.practitioner, status="dismissed", dismissal_reason="Odd sessions.")
    html = login(world.coach).get(world.practitioner.get_absolute_url()).content.decode()
    alerted = rubric_item(html, "miiwrap-fidelity")
    assert "Still below baseline" in alerted and "data-alerted" in alerted
    assert "drift alert" in alerted and "recent trend" in alerted
    plain = rubric_item(html, "mi-coding")
    assert "</span> Steady</span>" in plain and "data-alerted" not in plain


def test_an_alert_the_job_closed_leaves_the_person_pages_momentum_as_it_is(world, login):
    from tests.coaching.test_alert_views import make_alert

    momentum(world.practitioner, "building")
    make_alert(world.practitioner, status="resolved", resolved_on=D(2026, 6, 1))
    html = login(world.coach).get(world.practitioner.get_absolute_url()).content.decode()
    assert "</span> Building</span>" in rubric_item(html, "miiwrap-fidelity")


def test_a_practitioner_never_learns_of_an_alert_about_themselves_from_momentum(world, login):
    from tests.coaching.test_alert_views import make_alert

    momentum(world.practitioner, "slipping")
    make_alert(world.practitioner)
    html = login(world.practitioner).get(world.practitioner.get_absolute_url()).content.decode()
    item = rubric_item(html, "miiwrap-fidelity")
    assert "</span> Slipping</span>" in item and "Still slipping" not in item


def test_a_practitioner_reads_their_own_momentum(world, login):
    momentum(world.practitioner, "steady")
    html = login(world.practitioner).get(world.practitioner.get_absolute_url()).content
    assert b'data-momentum="steady"' in html


def test_a_person_without_momentum_has_no_momentum_section(world, login):
    html = login(world.leader).get(world.unassigned.get_absolute_url()).content
    assert b'<h2 class="h5">Momentum</h2>' not in html


def test_the_person_page_never_shows_another_persons_momentum(world, login):
    momentum(world.unassigned, "slipping")
    html = login(world.leader).get(world.practitioner.get_absolute_url()).content
    assert b"data-momentum" not in html


# The roster --------------------------------------------------------------------------------


def test_the_roster_shows_each_persons_momentum_in_their_row(world, login):
    momentum(world.practitioner, "slipping")
    momentum(world.unassigned, "building")
    html = login(world.leader).get(ROSTER).content.decode()
    assert badges(html, world.practitioner) == ["slipping"]
    assert badges(html, world.unassigned) == ["building"]


def test_the_roster_reads_no_query_per_row_for_momentum(world, login):
    client = login(world.leader)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(ROSTER).status_code == 200
        return len(captured)

    def add(count):
        for _ in range(count):
            momentum(make_person(world.home, "practitioner", login=False), "building")

    add(3)
    few = queries()
    add(30)
    assert queries() == few
    assert client.get(ROSTER).content.decode().count('data-momentum="building"') == 33


# Observations ------------------------------------------------------------------------------


@pytest.fixture
def observation(world):
    return make_observation(world.coach, world.practitioner, rubric_version())


def test_the_observation_list_shows_the_practitioners_momentum(world, login, observation):
    momentum(world.practitioner, "slipping")
    html = login(world.leader).get(OBSERVATIONS).content.decode()
    assert badges(html, world.practitioner) == ["slipping"]


def test_the_observation_list_reads_no_query_per_row_for_momentum(world, login):
    client = login(world.leader)
    version = rubric_version()

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(OBSERVATIONS).status_code == 200
        return len(captured)

    def add(count):
        for _ in range(count):
            person = make_person(world.home, "practitioner", login=False)
            make_assignment(world.coach, person)
            make_observation(world.coach, person, version)
            momentum(person, "steady")

    add(3)
    few = queries()
    add(30)
    assert queries() == few
    assert client.get(OBSERVATIONS).content.decode().count('data-momentum="steady"') == 33


def test_the_observation_page_shows_the_practitioners_momentum(world, login, observation):
    momentum(world.practitioner, "building")
    html = login(world.coach).get(observation.get_absolute_url()).content.decode()
    facts = html[html.index(">Practitioner</dt>") :]
    facts = facts[: facts.index("</dl>")]
    assert ">Momentum</dt>" in facts
    assert 'data-momentum="building"' in facts


def test_the_observation_page_without_momentum_leaves_it_out(world, login, observation):
    html = login(world.coach).get(observation.get_absolute_url()).content
    assert b">Momentum</dt>" not in html
    assert b"data-momentum" not in html
