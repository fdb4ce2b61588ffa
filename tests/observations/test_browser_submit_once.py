"""In Chromium: a second click on Submit while the first is sent posts nothing more."""

import time

import pytest
from playwright.sync_api import expect

from observations import services
from observations.models import Observation
from tests.browser import page  # noqa: F401  (fixture)
from tests.observations.test_browser_observation import CHOICES, choose, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def slow_submit(monkeypatch):
    """The server takes a second to answer, as on a poor connection."""
    submit = services.observation_submit

    def slowly(**kwargs):
        time.sleep(1)
        return submit(**kwargs)

    monkeypatch.setattr(services, "observation_submit", slowly)


def test_a_second_click_while_sending_posts_nothing_and_the_pressed_button_counts(
    page,  # noqa: F811
    world,
    slow_submit,
):
    script_errors, posts = [], []
    page.on("pageerror", lambda error: script_errors.append(error))
    sign_in(page, world.coach)
    page.goto(f"/observations/new/?practitioner={world.practitioner.pk}")
    page.get_by_label("Date observed").fill("2024-05-01")
    page.get_by_role("combobox", name="Activity").select_option(label="Home visit")
    for code, value in CHOICES.items():
        choose(page, code, value)
    page.on(
        "request",
        lambda request: (
            posts.append(request.post_data)
            if request.method == "POST" and "/observations/new/" in request.url
            else None
        ),
    )
    # The second click comes while the first post waits for its answer.
    page.evaluate(
        """() => {
          const submit = document.querySelector("button[value=submit]");
          submit.click();
          setTimeout(() => submit.click(), 300);
        }"""
    )
    expect(page.locator("#scores")).to_be_visible()
    assert len(posts) == 1
    assert "action=submit" in posts[0]
    assert Observation.objects.get().status == Observation.Status.SUBMITTED
    page.go_back()
    expect(page.get_by_role("button", name="Submit")).to_be_enabled()
    assert script_errors == []
