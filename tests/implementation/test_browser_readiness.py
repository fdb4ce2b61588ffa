"""In Chromium: the purveyor records a readiness assessment with a leader, starts an
alignment plan from its weakest items, and the leader finds both on their dashboard."""

import pytest
from playwright.sync_api import expect

from miiwrap.implementation.models import ActionItem, ReadinessAssessment
from observations.models import RubricVersion
from tests.browser import page, screenshot  # noqa: F401  (fixture)
from tests.coaching.test_plans_browser import sign_in
from tests.observations.test_browser_observation import choose

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
# Three items weak, every other in place: 71 of 78 points, 91.03 %.
WEAK = {"ct-size": 0, "fy-governance": 1, "pd-burden": 1}


def sign_out(page):  # noqa: F811
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


def test_the_purveyor_assesses_with_a_leader_plans_and_the_leader_reads_it(page, world):  # noqa: F811
    version = RubricVersion.objects.of_organizations().get()
    sign_in(page, world.purveyor_admin)
    page.goto("/dashboards/")
    page.locator("#readiness").get_by_role("link", name="Readiness and alignment").click()
    page.get_by_role("link", name=world.home.name).click()
    page.get_by_role("link", name="Record an assessment").click()
    page.get_by_label(world.leader.full_name).check()
    for item in version.items.all():
        choose(page, item.code, WEAK.get(item.code, 3))
    page.get_by_label("Note on Caseloads within the model's range").fill("Twenty families each.")
    screenshot(page, "readiness-form")
    page.get_by_role("button", name="Finalize").click()
    expect(page.get_by_text("Assessment finalized.")).to_be_visible()
    expect(page.locator("[data-overall]")).to_have_text("91.03 %")
    assessment = ReadinessAssessment.objects.get()
    assert assessment.status == "final" and list(assessment.leaders.all()) == [world.leader]

    page.get_by_role("button", name="Start a plan from the weakest items").click()
    expect(page.get_by_text("3 action items added from the weakest items.")).to_be_visible()
    expect(page.locator("[data-action]")).to_have_count(3)
    screenshot(page, "alignment-plan")
    assert set(ActionItem.objects.values_list("started_from", flat=True)) == {
        "ct-size",
        "fy-governance",
        "pd-burden",
    }
    sign_out(page)

    sign_in(page, world.leader)
    page.goto("/dashboards/")
    section = page.locator("#readiness")
    expect(section).to_contain_text("Latest readiness")
    expect(section).to_contain_text("0 of 3 actions done")
    expect(section).to_contain_text("Caseload and time")
    screenshot(page, "leader-readiness")
    section.get_by_role("link", name="Readiness assessments").click()
    expect(page.locator("#assessments")).to_contain_text(f"{assessment.assessed_on:%Y-%m-%d}")
