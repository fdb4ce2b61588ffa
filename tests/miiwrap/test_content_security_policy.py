"""Every page carries a Content-Security-Policy, and no page needs it relaxed for scripts."""

import re
from pathlib import Path

import pytest
from django.urls import reverse

from certification.models import ReminderRule

ROOT = Path(__file__).resolve().parents[2]
# What the policy refuses: inline handlers, style attributes, inline script and style blocks.
INLINE = re.compile(
    r"""\son[a-z]+\s*=|\sstyle\s*=|<style\b|<script\b(?![^>]*\ssrc=)(?![^>]*type="application/json")""",
    re.IGNORECASE,
)


def policy(response):
    header = response.headers["Content-Security-Policy"]
    parts = [part.split() for part in header.split(";") if part.strip()]
    return {name: values for name, *values in parts}


def assert_strict(response):
    directives = policy(response)
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    return directives


PAGES = {
    "leader": [
        "/",
        "/people/",
        "/observations/",
        "/certification/",
        "/coaching/alerts/",
        "/dashboards/",
        "/notifications/",
    ],
    "coach": ["/dashboards/coach/", "/observations/new/"],
    "practitioner": ["/dashboards/practitioner/"],
    "purveyor_admin": ["/certification/queue/", "/admin/certification/certificationperiod/"],
    "org_admin": [
        "/accounts/second-factor/",
        "/admin/",
        "/admin/people/person/",
        "/admin/certification/reminderrule/",
    ],
}


@pytest.mark.parametrize(
    "persona, url", [(persona, url) for persona, urls in PAGES.items() for url in urls]
)
def test_each_page_sends_a_strict_policy_and_needs_no_inline_code(world, login, persona, url):
    response = login(getattr(world, persona)).get(url, follow=True)
    assert response.status_code == 200, url
    directives = assert_strict(response)
    assert directives["style-src"] == ["'self'"]
    found = INLINE.findall(response.content.decode())
    assert not found, f"{url} has inline code the policy refuses: {found}"


def test_the_sign_in_page_and_a_missing_page_send_it_too(client, db):
    assert_strict(client.get(reverse("login")))
    assert_strict(client.get("/no/such/page/"))
    assert_strict(client.get(reverse("admin:login")))


def test_the_person_page_sends_it(world, login):
    response = login(world.leader).get(world.practitioner.get_absolute_url())
    assert response.status_code == 200
    assert_strict(response)
    assert not INLINE.findall(response.content.decode())


def test_only_the_reminder_email_preview_allows_inline_styles(world, login):
    rule = ReminderRule.objects.filter(organization=None).first()
    response = login(world.org_admin).get(
        reverse("admin:certification_reminderrule_change", args=[rule.pk])
    )
    assert response.status_code == 200
    directives = assert_strict(response)
    assert "'unsafe-inline'" in directives["style-src"]
    assert "'unsafe-inline'" not in directives["script-src"]


def template_files():
    roots = [ROOT / "templates", *ROOT.glob("*/templates"), *ROOT.glob("miiwrap/*/templates")]
    return sorted(path for root in roots for path in root.rglob("*.html"))


def test_no_template_has_inline_handlers_styles_or_scripts():
    offenders = {
        str(path.relative_to(ROOT)): INLINE.findall(path.read_text()) for path in template_files()
    }
    assert template_files()
    assert {path: found for path, found in offenders.items() if found} == {}
