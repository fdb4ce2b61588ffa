"""The list as CSV: exactly the filtered rows, every page, streamed, safe in a spreadsheet."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from miiwrap import spreadsheet
from miiwrap.people.models import Person, Team
from observations import exports
from observations.models import ActivityType, Observation
from tests.factories import full_scores, make_observation, make_person, rubric_version
from tests.observations.test_list_view import add_observations

URL = reverse("observations:list")
FIDELITY_METRICS = ["engagement", "mi-skills", "wraparound", "indicators", "fidelity"]


def download(client, **query):
    response = client.get(URL, {**query, "format": "csv"})
    assert response.status_code == 200
    assert response.streaming
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text))), response


def test_download_is_a_csv_attachment(world, login):
    make_observation(world.coach, world.practitioner)
    _, response = download(login(world.leader))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="observations-')


def test_every_filtered_row_on_every_page_and_no_other(world, login):
    add_observations(world.coach, world.practitioner, 120)
    add_observations(world.coach, world.unassigned, 3)
    found, _ = download(login(world.leader), practitioner=world.practitioner.pk)
    assert len(found) == 120
    assert {row["practitioner"] for row in found} == {world.practitioner.full_name}


def test_one_rubric_gives_metric_and_item_columns(world, login):
    version = rubric_version()
    scores = {**full_scores(version), "wp-team": "na"}
    Person.objects.filter(pk=world.practitioner.pk).update(staff_id="RB-7")
    observation = make_observation(
        world.coach, world.practitioner, scores=scores, duration_minutes=50, mode="recorded"
    )
    found, _ = download(login(world.leader), rubric=version.rubric_id)
    item_codes = [item.code for item in version.items.all()]
    assert list(found[0]) == [*exports.FIXED_COLUMNS, *FIDELITY_METRICS, *item_codes]
    [row] = found
    assert row == {
        "id": str(observation.pk),
        "date": "2024-05-01",
        "practitioner": world.practitioner.full_name,
        "practitioner email": world.practitioner.email,
        "staff id": "RB-7",
        "team": "North",
        "coach": world.coach.full_name,
        "rubric": "miiwrap-fidelity",
        "version": "1",
        "activity": observation.activity.name,
        "mode": "recorded",
        "duration": "50",
        "status": "submitted",
        "overall score": "100.00",
        "band": "high",
        "engagement": "100.0",
        "mi-skills": "100.0",
        "wraparound": "100.0",
        "indicators": "100.0",
        "fidelity": "100.0",
        **{code: str(value) for code, value in scores.items()},
    }
    assert row["wp-team"] == "na"


def test_several_rubrics_name_metrics_by_rubric_and_leave_out_items(world, login):
    make_observation(world.coach, world.practitioner)
    mi = rubric_version("mi-coding")
    make_observation(world.coach, world.practitioner, mi, scores=full_scores(mi, rating=4))
    found, _ = download(login(world.leader))
    columns = list(found[0])
    assert columns[len(exports.FIXED_COLUMNS) :] == [
        "mi-coding/technical",
        "mi-coding/relational",
        "mi-coding/pct-cr",
        "mi-coding/r-q",
        "mi-coding/mi-adherent",
        "mi-coding/mi-non-adherent",
        *(f"miiwrap-fidelity/{code}" for code in FIDELITY_METRICS),
    ]
    by_rubric = {row["rubric"]: row for row in found}
    assert by_rubric["mi-coding"]["mi-coding/technical"] == "4.0"
    assert by_rubric["mi-coding"]["miiwrap-fidelity/fidelity"] == ""
    assert by_rubric["miiwrap-fidelity"]["miiwrap-fidelity/fidelity"] == "100.0"


def test_an_undefined_metric_is_an_empty_cell(world, login):
    mi = rubric_version("mi-coding")
    make_observation(world.coach, world.practitioner, mi, scores=full_scores(mi, count=0))
    [row], _ = download(login(world.leader), rubric=mi.rubric_id)
    assert row["r-q"] == ""
    assert row["overall score"] == ""


def test_formula_cells_get_a_leading_apostrophe(world, login):
    Person.objects.filter(pk=world.practitioner.pk).update(
        first_name='=HYPERLINK("http://evil")', staff_id="-2+3", email="@x@example.org"
    )
    Team.objects.filter(pk=world.team_a.pk).update(name="+North")
    activity = ActivityType.objects.create(name="@SUM(A1)")
    world.practitioner.refresh_from_db()
    make_observation(world.coach, world.practitioner, activity=activity)
    [row], _ = download(login(world.leader))
    assert row["practitioner"].startswith("'=HYPERLINK")
    assert row["staff id"] == "'-2+3"
    assert row["practitioner email"] == "'@x@example.org"
    assert row["team"] == "'+North"
    assert row["activity"] == "'@SUM(A1)"
    assert row["overall score"] == "100.00"  # numbers are written as numbers


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@A1", "\t=1", "\r=1"])
def test_safe_escapes_every_formula_start(value):
    assert spreadsheet.safe(value) == "'" + value


@pytest.mark.parametrize("value", ["Pat", "", "1-2", -1, 3.5, None])
def test_safe_leaves_ordinary_values(value):
    assert spreadsheet.safe(value) == ("" if value is None else value)


def test_an_item_code_that_matches_an_earlier_column_is_prefixed(world, login):
    version = rubric_version()
    version.items.filter(code="ep-voice").update(code="band")
    version = rubric_version()
    scores = full_scores(version)
    make_observation(world.coach, world.practitioner, version, scores=scores)
    [row], _ = download(login(world.leader), rubric=version.rubric_id)
    assert row["band"] == "high"
    assert row["item/band"] == "3"


def test_practitioner_downloads_only_their_own(world, login):
    mine = make_observation(world.coach, world.practitioner)
    make_observation(world.coach, world.unassigned)
    found, _ = download(login(world.practitioner))
    assert [row["id"] for row in found] == [str(mine.pk)]


def test_drafts_are_exported_only_to_their_author(world, login):
    draft = make_observation(world.coach, world.practitioner, submit=False, scores={})
    assert [row["status"] for row in download(login(world.coach))[0]] == ["draft"]
    assert download(login(world.leader))[0] == []
    assert draft.pk


def test_outsider_downloads_nothing_of_home(world, login):
    make_observation(world.coach, world.practitioner)
    other = make_person(world.away, "practitioner", team=world.away_team)
    make_observation(world.outsider, other)
    found, _ = download(login(world.outsider))
    assert {row["practitioner"] for row in found} == {other.full_name}


def test_bad_filters_show_the_page_with_errors_instead_of_a_file(world, login):
    make_observation(world.coach, world.practitioner)
    response = login(world.leader).get(URL, {"format": "csv", "date_from": "yesterday"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "date_from" in response.context["filter"].form.errors


def test_the_page_links_to_the_download_with_its_filters(world, login):
    response = login(world.leader).get(URL, {"band": "high"})
    assert b'href="?band=high&amp;format=csv"' in response.content


def queries_for_download(client):
    with CaptureQueriesContext(connection) as captured:
        download(client)
    return len(captured)


def test_query_count_does_not_grow_with_the_rows(world, login):
    client = login(world.leader)
    add_observations(world.coach, world.practitioner, 10)
    few = queries_for_download(client)
    add_observations(world.coach, world.practitioner, 990)
    assert Observation.objects.count() == 1000
    assert queries_for_download(client) == few
