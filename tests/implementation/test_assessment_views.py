"""Recording, reading and comparing readiness assessments: who may, what they see."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from miiwrap.implementation.models import ReadinessAssessment
from miiwrap.once.forms import new_token
from observations.forms import ITEM_PREFIX
from tests.implementation.conftest import make_assessment, ratings

INDEX = reverse("implementation:index")


def org_url(world):
    return reverse("implementation:organization", args=[world.home.pk])


def new_url(world):
    return reverse("implementation:assessment_new", args=[world.home.pk])


def detail_url(assessment):
    return reverse("implementation:assessment", args=[assessment.pk])


def posted(instrument, world, action="finalize", token=None, value="2", **extra):
    data = {
        "form_token": token or new_token(),
        "assessed_on": "2026-03-02",
        "leaders": [world.leader.pk],
        "summary": "Assessed with the leadership team.",
        "action": action,
    }
    for item in instrument.items.all():
        data[ITEM_PREFIX + item.code] = value
    data.update(extra)
    return data


# Who may see what ------------------------------------------------------------------------


@pytest.fixture
def assessment(world, instrument):
    return make_assessment(world.home, world.purveyor_admin, instrument)


@pytest.mark.parametrize("who", ["purveyor_admin", "leader", "org_admin"])
def test_the_purveyor_and_the_organizations_leaders_and_admins_read_its_readiness(
    world, login, assessment, who
):
    client = login(getattr(world, who))
    for url in (INDEX, org_url(world), detail_url(assessment)):
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("who", ["outsider", "coach", "practitioner"])
def test_everyone_else_gets_404_on_every_readiness_page(world, login, assessment, who):
    client = login(getattr(world, who))
    for url in (
        org_url(world),
        new_url(world),
        detail_url(assessment),
        reverse("implementation:assessment_edit", args=[assessment.pk]),
        reverse("implementation:plan", args=[world.home.pk]),
        reverse("implementation:action_new", args=[world.home.pk]),
    ):
        assert client.get(url).status_code == 404, url
    response = client.post(reverse("implementation:plan_from_weakest", args=[assessment.pk]))
    assert response.status_code == 404


def test_the_index_lists_only_the_organizations_a_leader_reads(world, login, assessment):
    page = login(world.leader).get(INDEX).content.decode()
    assert world.home.name in page and world.away.name not in page
    everyone = login(world.purveyor_admin).get(INDEX).content.decode()
    assert world.home.name in everyone and world.away.name in everyone
    assert world.purveyor.name not in everyone


def test_the_index_shows_the_latest_final_overall_score(world, login, instrument, assessment):
    make_assessment(world.home, world.purveyor_admin, instrument, final=False)
    page = login(world.leader).get(INDEX).content.decode()
    assert "66.67 %" in page and "2026-03-02" in page


@pytest.mark.parametrize("who", ["leader", "org_admin", "coach"])
def test_only_the_purveyor_records_an_assessment(world, login, who):
    assert login(getattr(world, who)).get(new_url(world)).status_code == 404


@pytest.mark.parametrize("who", ["leader", "org_admin", "purveyor_admin"])
def test_the_leader_dashboard_links_to_readiness_and_alignment(world, login, assessment, who):
    page = login(getattr(world, who)).get(reverse("dashboards:leader")).content.decode()
    assert f'href="{INDEX}"' in page
    assert f'href="{org_url(world)}"' in page


def test_a_coachs_pages_have_no_readiness_link(world, login):
    page = login(world.coach).get(reverse("home"), follow=True).content.decode()
    assert "/implementation/" not in page


def test_the_organization_page_links_to_each_assessment_and_the_plan(world, login, assessment):
    page = login(world.leader).get(org_url(world)).content.decode()
    assert f'href="{detail_url(assessment)}"' in page
    assert f'href="{reverse("implementation:plan", args=[world.home.pk])}"' in page


# Recording -------------------------------------------------------------------------------


def test_the_purveyor_records_a_final_assessment_with_its_scores_and_leaders(
    world, login, instrument
):
    client = login(world.purveyor_admin)
    page = client.get(new_url(world)).content.decode()
    assert "A named executive sponsor" in page and "In place" in page
    response = client.post(
        new_url(world), posted(instrument, world, **{"note__lc-sponsor": "The CEO chairs it."})
    )
    assessment = ReadinessAssessment.objects.get()
    assert response.status_code == 302 and response.url == assessment.get_absolute_url()
    assert (assessment.status, str(assessment.overall_score), assessment.band) == (
        "final",
        "66.67",
        "developing",
    )
    assert assessment.metrics["leadership"]["value"] == 2.0
    assert assessment.notes == {"lc-sponsor": "The CEO chairs it."}
    assert list(assessment.leaders.all()) == [world.leader]
    assert assessment.recorded_by == world.purveyor_admin


def test_the_same_form_posted_twice_stores_one_assessment(world, login, instrument):
    client = login(world.purveyor_admin)
    data = posted(instrument, world)
    client.post(new_url(world), data)
    again = client.post(new_url(world), data)
    assert ReadinessAssessment.objects.count() == 1
    assert again.status_code == 302
    assert again.url == ReadinessAssessment.objects.get().get_absolute_url()


def test_a_draft_keeps_what_was_entered_and_is_continued_then_finalized(world, login, instrument):
    client = login(world.purveyor_admin)
    data = posted(instrument, world, action="draft")
    data = {k: v for k, v in data.items() if not k.startswith(ITEM_PREFIX)}
    data[ITEM_PREFIX + "lc-sponsor"] = "3"
    response = client.post(new_url(world), data)
    draft = ReadinessAssessment.objects.get()
    assert draft.is_draft and draft.scores == {"lc-sponsor": 3}
    edit = reverse("implementation:assessment_edit", args=[draft.pk])
    assert response.url == edit
    # Asking for a new one opens the draft instead.
    assert client.get(new_url(world)).url == edit
    finished = client.post(edit, posted(instrument, world))
    draft.refresh_from_db()
    assert finished.status_code == 302 and draft.status == "final"
    assert client.get(edit).status_code == 302  # a final one is not edited


def test_a_new_assessment_posted_while_a_draft_exists_keeps_what_was_entered(
    world, login, instrument
):
    make_assessment(world.home, world.purveyor_admin, instrument, final=False)
    data = posted(instrument, world, **{"note__lc-team": "Meets monthly"})
    response = login(world.purveyor_admin).post(new_url(world), data)
    page = response.content.decode()
    assert response.status_code == 400
    assert "in progress: continue that one" in page and "Meets monthly" in page
    assert ReadinessAssessment.objects.count() == 1


def test_finalizing_with_items_unscored_is_a_form_error_that_keeps_everything(
    world, login, instrument
):
    data = posted(instrument, world)
    del data[ITEM_PREFIX + "fy-choice"]
    data["note__fy-choice"] = "Still to discuss"
    response = login(world.purveyor_admin).post(new_url(world), data)
    page = response.content.decode()
    assert response.status_code == 400
    assert "Score this item." in page and "Still to discuss" in page
    assert ReadinessAssessment.objects.count() == 0


@pytest.mark.parametrize(
    "field, value, error",
    [
        (ITEM_PREFIX + "lc-sponsor", "7", "Select a valid choice"),
        ("assessed_on", "not a date", "Enter a valid date"),
        ("assessed_on", "9999-12-31", ""),
        ("leaders", "999999", "Select a valid choice"),
    ],
)
def test_bad_input_gives_form_errors_not_a_500(world, login, instrument, field, value, error):
    data = posted(instrument, world, **{field: value})
    response = login(world.purveyor_admin).post(new_url(world), data)
    assert response.status_code == 400
    assert error in response.content.decode()
    assert ReadinessAssessment.objects.count() == 0


def test_an_outsiders_leader_cannot_be_named_as_taking_part(world, login, instrument):
    data = posted(instrument, world, leaders=[world.outsider.pk])
    assert login(world.purveyor_admin).post(new_url(world), data).status_code == 400


# Reading the change ----------------------------------------------------------------------


def test_the_detail_shows_domain_scores_and_the_change_since_the_previous_one(
    world, login, instrument
):
    by = world.purveyor_admin
    make_assessment(
        world.home,
        by,
        instrument,
        on=dt.date(2025, 9, 1),
        scores=ratings(instrument, lc_sponsor=1, ct_size=3),
        notes={"lc-sponsor": "Nobody named yet"},
    )
    latest = make_assessment(
        world.home,
        by,
        instrument,
        scores=ratings(instrument, lc_sponsor=3, ct_size=1),
        notes={"lc-sponsor": "The director now sponsors it"},
    )
    page = login(world.leader).get(detail_url(latest)).content.decode()
    assert "1 items up, 1 down, 24 the same." in page
    assert 'data-item="lc-sponsor" data-direction="up"' in page
    assert 'data-item="ct-size" data-direction="down"' in page
    assert "Nobody named yet" in page and "The director now sponsors it" in page
    assert "1 · Emerging" in page and "3 · In place" in page
    assert 'data-domain="leadership"' in page


def test_a_first_assessment_says_there_is_nothing_to_compare_with(world, login, assessment):
    page = login(world.leader).get(detail_url(assessment)).content.decode()
    assert "No earlier final assessment to compare with." in page


def test_a_draft_is_never_the_previous_assessment(world, instrument):
    make_assessment(world.home, world.purveyor_admin, instrument, on=dt.date(2025, 1, 1))
    final = make_assessment(world.home, world.purveyor_admin, instrument, on=dt.date(2025, 6, 1))
    draft = make_assessment(
        world.home, world.purveyor_admin, instrument, on=dt.date(2025, 9, 1), final=False
    )
    assert draft.previous() == final
    assert final.previous().assessed_on == dt.date(2025, 1, 1)


def test_pages_read_a_constant_number_of_queries(world, login, instrument):
    client = login(world.purveyor_admin)
    latest = make_assessment(world.home, world.purveyor_admin, instrument)
    urls = [INDEX, org_url(world), detail_url(latest)]
    few = {}
    for url in urls:
        client.get(url)
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        few[url] = len(captured)
    for n in range(3):
        make_assessment(world.home, world.purveyor_admin, instrument, on=dt.date(2024, 1, 1 + n))
        make_assessment(world.away, world.purveyor_admin, instrument, on=dt.date(2024, 1, 1 + n))
    for url in urls:
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        assert len(captured) == few[url], url


@pytest.mark.parametrize("pk", ["0", str(2**63 - 1), "99999999"])
def test_unknown_ids_are_404_not_500(world, login, pk):
    client = login(world.purveyor_admin)
    for name in ("assessment", "assessment_edit", "organization", "plan", "action_edit"):
        assert client.get(f"/implementation/{_route(name, pk)}").status_code == 404, name
    assert client.post(f"/implementation/readiness/{pk}/plan/").status_code == 404


def _route(name, pk):
    return {
        "assessment": f"readiness/{pk}/",
        "assessment_edit": f"readiness/{pk}/edit/",
        "organization": f"organizations/{pk}/",
        "plan": f"organizations/{pk}/plan/",
        "action_edit": f"actions/{pk}/",
    }[name]


def test_the_purveyors_own_organization_has_no_readiness(world, login):
    url = reverse("implementation:organization", args=[world.purveyor.pk])
    assert login(world.purveyor_admin).get(url).status_code == 404


def test_the_detail_keeps_who_recorded_and_finalized_it(world, login, instrument):
    client = login(world.purveyor_admin)
    draft = posted(instrument, world, action="draft")
    client.post(new_url(world), draft)
    assessment = ReadinessAssessment.objects.get()
    edit = reverse("implementation:assessment_edit", args=[assessment.pk])
    client.post(edit, posted(instrument, world))
    page = login(world.leader).get(detail_url(assessment)).content.decode()
    assert page.count("history-entry") >= 2
    assert world.purveyor_admin.first_name in page
    statuses = list(assessment.history.values_list("status", flat=True))
    assert statuses[0] == "final" and "draft" in statuses
