import pytest

from tests.browser import page, screenshot  # noqa: F401  (fixture)
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_coach_signs_in_and_finds_their_practitioner(page, world):  # noqa: F811
    page.goto("/")
    page.get_by_label("Email or username").fill(world.coach.email.upper())
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.get_by_role("heading", name="My caseload").wait_for()
    caseload = page.locator("[data-table=caseload]")
    assert world.practitioner.full_name in caseload.inner_text()
    screenshot(page, "caseload-coach")

    page.get_by_role("link", name="People", exact=True).click()
    page.get_by_role("heading", name="People").wait_for()
    rows = page.locator("tbody tr")
    names = sorted(rows.locator("td:first-child a").all_inner_texts())
    assert names == sorted([world.coach.full_name, world.practitioner.full_name])
    screenshot(page, "directory-coach")

    page.locator("#menu-account").click()  # the account menu, under the coach's name
    page.get_by_role("link", name="My page").click()
    caseload = page.locator("section", has=page.get_by_role("heading", name="Caseload"))
    assert world.practitioner.full_name in caseload.inner_text()


def test_wrong_password_keeps_the_user_on_the_sign_in_page(page, world):  # noqa: F811
    page.goto("/accounts/login/")
    page.get_by_label("Email or username").fill(world.coach.email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_text("Please enter a correct username and password").is_visible()
    assert page.get_by_label("Email or username").input_value() == world.coach.email
