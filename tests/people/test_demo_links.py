"""On the demo world, as each demo login: the purveyor's staff are counted alike by the
roster and the all-organizations pipeline, and no person link on the pages each role
lands on answers 404 (miiwrap.people.links)."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from certification.models import Program
from miiwrap import generations
from miiwrap.dashboards import leader, views
from miiwrap.dashboards.forms import LeaderFilterForm
from miiwrap.people import demo
from miiwrap.people.models import Organization
from observations.models import Rubric
from tests.factories import DEMO_TODAY
from tests.people.test_person_links import PERSON_LINK
from tests.people.test_seed_demo import logins

pytestmark = pytest.mark.time_machine(
    dt.datetime(2025, 6, 16, 12, tzinfo=ZoneInfo("America/New_York")), tick=False
)
# Person links followed a page: enough to meet every kind of link on it.
FOLLOWED = 25


@pytest.fixture
def signed_in(demo_output, client):
    def sign_in(label):
        email = logins(demo_output)[label]
        response = client.post(reverse("login"), {"username": email, "password": demo.PASSWORD})
        assert response.status_code == 302
        return client

    return sign_in


def test_the_roster_counts_the_people_the_all_organizations_pipeline_counts(signed_in):
    client = signed_in("Purveyor admin")
    pipeline = client.get(reverse("dashboards:leader"), {"organization": "all"}).context
    totals = {row[0].value: row[-1].value for row in pipeline["pipeline"].rows}
    for program in Program.objects.all():
        roster = client.get(reverse("certification:roster", args=[program.code])).context
        assert sum(n for _, _, n in roster["counts"]) == totals[program.name], program.code
    # The purveyor's staff are among them: its trainers hold MiiWrap Coach.
    purveyor = Organization.objects.get(is_purveyor=True)
    coaches = client.get(
        reverse("certification:roster", args=["coach"]), {"organization": purveyor.pk}
    )
    assert coaches.context["page"].paginator.count > 0


PAGES = {
    "Purveyor admin": ["dashboards:leader", "people:directory", "observations:list"],
    "Organization admin": ["dashboards:leader", "people:directory", "coaching:alerts"],
    "Leader": ["dashboards:leader", "observations:list", "coaching:plans"],
    "Coach": ["dashboards:coach", "observations:list", "coaching:plans"],
    "Trainer": ["dashboards:coach", "observations:list", "people:directory"],
    "Practitioner": ["dashboards:practitioner", "observations:list"],
}


@pytest.mark.parametrize("label", list(PAGES))
def test_no_person_link_on_a_roles_pages_answers_404(signed_in, label):
    client = signed_in(label)
    found = []
    for name in PAGES[label]:
        response = client.get(reverse(name))
        assert response.status_code == 200, name
        links = list(dict.fromkeys(PERSON_LINK.findall(response.content.decode())))
        found += links
        for link in links[:FOLLOWED]:
            assert client.get(link).status_code == 200, f"{label} on {name}: {link}"
    assert found, f"{label} saw no person links"


def test_a_leader_reaches_their_coaches_dashboards_from_their_own(signed_in):
    body = signed_in("Leader").get(reverse("dashboards:leader")).content.decode()
    assert re.search(r'href="/dashboards/coach/\d+/"', body)


@pytest.mark.parametrize("table", ["expiring", "alerts", "feedback", "overdue"])
def test_a_comparison_lists_the_first_rows_of_every_organizations_part_merged(
    demo_output, monkeypatch, table
):
    """Compared across organizations, each one's part of a list keeps its first rows
    (miiwrap.generations.Kept.each); merged, they are the first rows of the whole list,
    in its order, as the table's download (read whole) lists them."""
    monkeypatch.setattr(leader, "SHOWN", 3)
    whole = _compared(table, export=table)
    assert len({row[1].value for row in whole.rows}) > 1, "one organization: nothing merged"
    shown = _compared(table)
    assert shown.rows == whole.rows[:3]
    # The lists that say how many there are in all (who expires soon does not).
    assert shown.total == (None if table == "expiring" else len(whole.rows))
    assert _compared(table).rows == shown.rows  # its parts kept
    with generations.uncached():
        assert _compared(table).rows == shown.rows


def _compared(key, export=""):
    """The table `key` of the leader dashboard comparing every demo organization."""
    organizations = list(Organization.objects.all())
    form = LeaderFilterForm(
        {}, organizations=organizations, today=DEMO_TODAY, default_rubric=_practice_rubric()
    )
    assert form.is_valid(), form.errors
    sections = leader.build(leader.scope_from(form.cleaned_data, organizations, export))
    (found,) = [table for table in views._tables(sections) if table.key == key]
    return found


def _practice_rubric():
    return Rubric.objects.for_dashboards().first()
