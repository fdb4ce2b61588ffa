"""Every dashboard reads the same few queries with ten observations or a thousand."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.dashboards.conftest import grow
from tests.factories import make_session

# Measured once; a change that adds a query to a page should say why here.
# The leader's: sign-in (3), the filters' choices (4), the programs and their rules (2),
# the pipeline with who expires (1) and their names (1), and a query or two a section
# (the open disputes: one count); feedback quality is one query on the coach's page and
# two on the leader's (the coaches' coaching scores, then what they observed, read from
# the monthly counts kept on write as coach activity reads them). Coaching sessions add
# one query to each: the leader's sessions held and due with goals met (all coaches at
# once), the coach's sessions due in "whom to see next". The coach's own drafts
# ("observations to finish") are one more on theirs, and the caseload's ids, read before
# its open drift alerts, one more.
# Each page reads once which pages its person links may open for the viewer
# (miiwrap.people.links.Reach), however many names it shows. The coach's caseload reads
# its certification states in a query of their own: certification.decider's statement,
# which every reader of the current period shares. The coach's co-observation section
# reads three: the share of their visits a second observer scored, whom they co-observed
# with, and their colleagues.
# Internal capacity adds six to the leader's: the people, their role periods, their
# certifications, today's coach assignments, the certifications decided in the twelve
# months (for their evidence) and the practitioner program's deadline; and a seventh, the
# observers of that evidence, when some certification kept any (none here: see
# tests/dashboards/test_capacity_section.py).
# The leader's readiness and alignment section reads the latest
# two final assessments of each organization, its actions counted and, for one
# organization, its overdue actions listed (3; 2 comparing them all); once an assessment
# is there, its domains' names are one more.
LEADER_QUERIES = 40
ALL_ORGANIZATIONS_QUERIES = 38
COACH_QUERIES = 23
PRACTITIONER_QUERIES = 24  # + the coach check, active plan and sessions; their id before alerts


def queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


PAGES = [
    ("leader", reverse("dashboards:leader"), LEADER_QUERIES),
    (
        "purveyor_admin",
        reverse("dashboards:leader") + "?organization=all",
        ALL_ORGANIZATIONS_QUERIES,
    ),
    ("coach", reverse("dashboards:coach"), COACH_QUERIES),
    ("practitioner", reverse("dashboards:practitioner"), PRACTITIONER_QUERIES),
]


@pytest.mark.parametrize(("persona", "url", "expected"), PAGES, ids=[p[0] for p in PAGES])
@pytest.mark.parametrize("rows", [10, 1000])
def test_a_dashboards_queries_do_not_grow_with_its_rows(
    world, login, frozen, persona, url, expected, rows
):
    people = grow(world, rows)
    assert len(people) == 1 + rows // 25
    for n, person in enumerate(people):  # sessions, due soon or not, for the cadence's reads
        make_session(person, world.coach, dt.date(2026, 6, 1) - dt.timedelta(days=n))
    assert queries(login(getattr(world, persona)), url) == expected


# A page whose sections are kept reads only what is around them: sign-in (3) and the
# unread notifications in the navigation (1), then the leader's organizations and default
# rubric (the filters are kept with the sections); the coach's caseload (its organizations
# name the key) and the coach; the observation list's organizations seen (the key): its
# rows, and what the viewer may see, are read only when it is not kept.
KEPT = [
    ("leader", reverse("dashboards:leader"), 6),
    ("purveyor_admin", reverse("dashboards:leader") + "?organization=all", 6),
    ("coach", reverse("dashboards:coach"), 6),
    ("leader", reverse("observations:list"), 5),
    ("purveyor_admin", reverse("observations:list"), 5),
]


@pytest.mark.parametrize(("persona", "url", "expected"), KEPT, ids=[f"{p[0]}{p[1]}" for p in KEPT])
def test_a_kept_page_reads_only_what_is_around_its_sections(
    world, login, frozen, persona, url, expected
):
    grow(world, 10)
    client = login(getattr(world, persona))
    client.get(url)
    assert queries(client, url) == expected
