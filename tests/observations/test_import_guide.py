"""The import page explains the file itself: every column the importer reads, each
published rubric's item columns, the rules, and an example file the importer accepts."""

import csv
import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from observations import import_guide, imports, scoring
from observations.models import Observation
from tests.factories import make_assignment, make_person, rubric_version

IMPORT = reverse("admin:observations_observation_import")
EXAMPLE = reverse("admin:observations_observation_import_example")


def example_file(client):
    response = client.get(EXAMPLE)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return b"".join(response.streaming_content)


def upload(client, content, **data):
    file = SimpleUploadedFile("example.csv", content, content_type="text/csv")
    return client.post(IMPORT, {"file": file, **data})


@pytest.fixture
def example_people(world):
    """The people the example file names, in the org admin's organization, as if the
    admin had put their own people in its rows."""
    coach = make_person(world.home, "coach", email=import_guide.EXAMPLE_COACH)
    practitioner = make_person(world.home, "practitioner", email=import_guide.EXAMPLE_PRACTITIONER)
    make_assignment(coach, practitioner)
    return coach, practitioner


def test_the_page_lists_every_column_the_importer_reads(world, login):
    body = login(world.org_admin).get(IMPORT).content.decode()
    for name in [*imports.REQUIRED, *imports.OPTIONAL]:
        assert f'<tr data-column="{name}"><td><code>{name}</code></td>' in body, name
    assert body.count("<tr data-column=") == len(imports.REQUIRED) + len(imports.OPTIONAL) == 11
    assert "described in the README" not in body


def test_the_page_says_which_columns_are_required(world, login):
    body = login(world.org_admin).get(IMPORT).content.decode()
    assert '<tr data-column="date"><td><code>date</code></td><td>required</td>' in body
    assert '<tr data-column="duration"><td><code>duration</code></td><td>optional</td>' in body
    assert "a whole number from 1 to 720" in body


def test_the_page_lists_each_published_versions_item_columns(world, login):
    body = login(world.org_admin).get(IMPORT).content.decode()
    for code in ("miiwrap-fidelity", "mi-coding"):
        version = rubric_version(code)
        assert f'data-version="{code}/{version.number}"' in body
        for item in version.items.all():
            assert f"<td><code>{item.code}</code></td><td>{escape(item.label)}</td>" in body


def test_the_page_states_the_rules(world, login):
    body = login(world.org_admin).get(IMPORT).content.decode()
    assert "All or nothing." in body
    assert "Rows imported before are skipped" in body
    assert "YYYY-MM-DD, from 1900 to today" in body
    assert "Organization admins may name only people of their own organization." in body
    assert "Home visit" in body  # an activity type the activity column may name


def test_the_example_file_has_every_fixed_column_and_a_row_per_practice_rubric(world, login):
    rows = list(csv.reader(io.StringIO(example_file(login(world.org_admin)).decode())))
    headings, body = rows[0], rows[1:]
    assert headings[:11] == [column.name for column in imports.COLUMNS]
    assert sorted(row[headings.index("rubric")] for row in body) == [
        "mi-coding",
        "miiwrap-fidelity",
    ]
    fidelity = rubric_version("miiwrap-fidelity")
    assert {item.code for item in fidelity.items.all()} <= set(headings)


def test_the_example_file_checks_without_a_problem_once_its_people_exist(
    world, login, example_people
):
    client = login(world.org_admin)
    response = upload(client, example_file(client), dry_run="on")
    result = response.context["result"]
    assert result.errors == []
    assert (result.rows, result.created) == (2, 2)
    assert Observation.objects.count() == 0  # only checked


def test_the_example_file_imports_and_scores_each_row(world, login, example_people):
    client = login(world.purveyor_admin)
    result = upload(client, example_file(client)).context["result"]
    assert (result.created, result.errors) == (2, [])
    fidelity = Observation.objects.get(rubric_version__rubric__code="miiwrap-fidelity")
    assert fidelity.band and fidelity.overall_score is not None
    assert fidelity.observed_on == timezone.localdate() - dt.timedelta(days=1)
    assert "na" in fidelity.scores.values()  # the example shows a not-applicable item


def test_the_example_names_nobody_real_so_as_it_stands_it_saves_nothing(world, login):
    client = login(world.org_admin)
    result = upload(client, example_file(client)).context["result"]
    assert not result.ok
    assert any(import_guide.EXAMPLE_PRACTITIONER in problem for _, problem in result.errors)
    assert Observation.objects.count() == 0


@pytest.mark.parametrize("persona", ["coach", "leader", "practitioner"])
def test_only_those_who_import_download_the_example(world, login, persona):
    response = login(getattr(world, persona)).get(EXAMPLE)
    assert response.status_code == 302  # to the admin's sign-in


def test_every_example_score_is_one_the_scoring_rules_accept(world):
    for version, items in [
        (v, import_guide.item_columns(v)) for v in import_guide.published_versions()
    ]:
        scores = {c.code: imports._score(c.example) for c in items}
        assert scoring.problems(version.definition(), scores, complete=True) == {}, version
        assert len(scores) == version.items.count()
