"""The reminder-rule admin: defaults are the purveyor's, organizations write their own."""

import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from certification.models import Program, ReminderRule

RULES = "/admin/certification/reminderrule/"
ADD = RULES + "add/"


def change_url(rule):
    return f"{RULES}{rule.pk}/change/"


def preview_url(rule=None):
    return f"{RULES}{rule.pk}/preview/" if rule else RULES + "preview/"


def default(code="practitioner", timing="before_expiry", days=30):
    return ReminderRule.objects.get(organization=None, program__code=code, timing=timing, days=days)


def org_rule(organization, code="practitioner", days=45, **fields):
    fields.setdefault("subject", "{{ name }}: renew soon")
    fields.setdefault("body_text", "Hello {{ recipient }}")
    return ReminderRule.objects.create(
        program=Program.objects.get(code=code),
        organization=organization,
        timing="before_expiry",
        days=days,
        **fields,
    )


def form_data(rule=None, **changes):
    """The rule form as the admin posts it: a copy of `rule`, or a fresh rule, changed."""
    data = {
        "program": Program.objects.get(code="practitioner").pk,
        "timing": "before_expiry",
        "days": 45,
        "to_practitioner": "on",
        "to_coach": "on",
        "to_leader": "on",
        "subject": "{{ name }}: renew by {{ expiry_date }}",
        "body_text": "Hello {{ recipient }},\n\nSee {{ link }}",
        "body_html": "",
        "organization": "",
        "replaces": "",
        "is_active": "on",
    }
    if rule is not None:
        data.update(
            program=rule.program_id,
            timing=rule.timing,
            days=rule.days,
            subject=rule.subject,
            body_text=rule.body_text,
            body_html=rule.body_html,
            organization=rule.organization_id or "",
            replaces=rule.replaces_id or "",
        )
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def listed(client, query=""):
    return set(client.get(RULES + query).context["cl"].result_list)


def srcdoc(response):
    """The unescaped HTML inside the preview's sandboxed frame."""
    match = re.search(r'<iframe sandbox [^>]*srcdoc="([^"]*)"', response.content.decode())
    assert match, "no sandboxed preview frame on the page"
    return html.unescape(match.group(1))


def outside_frames(response):
    return re.sub(r'srcdoc="[^"]*"', "", response.content.decode())


# Who sees what ----------------------------------------------------------------------------


def test_the_shipped_defaults_are_six_a_program(db):
    # Practitioner, Coach, Trainer and Observer.
    assert ReminderRule.objects.filter(organization=None).count() == 24


def test_purveyor_admin_lists_every_rule(world, login):
    home, away = org_rule(world.home), org_rule(world.away)
    rules = listed(login(world.purveyor_admin))
    assert default() in rules
    assert {home, away} <= rules
    assert len(rules) == 26


def test_purveyor_admin_changes_a_default(world, login):
    rule = default()
    client = login(world.purveyor_admin)
    assert client.get(change_url(rule)).status_code == 200
    response = client.post(change_url(rule), form_data(rule, subject="{{ name }}: 30 days left"))
    assert response.status_code == 302
    assert ReminderRule.objects.get(pk=rule.pk).subject == "{{ name }}: 30 days left"


def test_org_admin_sees_the_defaults_and_their_own_rules_only(world, login):
    home, away = org_rule(world.home), org_rule(world.away)
    rules = listed(login(world.org_admin))
    assert home in rules
    assert away not in rules
    assert len(rules) == 25


def test_org_admin_cannot_open_another_organizations_rule(world, login):
    away = org_rule(world.away)
    client = login(world.org_admin)
    response = client.get(change_url(away))
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.post(preview_url(away), form_data(away)).status_code == 404


def test_the_whose_filter_separates_defaults_from_an_organizations_rules(world, login):
    home = org_rule(world.home)
    client = login(world.purveyor_admin)
    assert len(listed(client, "?whose=default")) == 24
    assert listed(client, f"?whose={world.home.pk}") == {home}
    assert len(listed(client, "?whose=nonsense")) == 25


@pytest.mark.parametrize(
    "query, count",
    [
        ("?timing__exact=after_grace", 4),
        ("?is_active__exact=0", 1),
        ("?q=has+lapsed", 4),
        ("?whose=default&timing__exact=before_expiry", 16),
    ],
)
def test_the_list_filters_and_searches(world, login, query, count):
    org_rule(world.home, is_active=False)
    assert len(listed(login(world.org_admin), query)) == count


def test_the_list_reads_in_the_same_queries_however_many_rules(world, login):
    client = login(world.purveyor_admin)
    client.get(RULES)
    with CaptureQueriesContext(connection) as few:
        client.get(RULES)
    for days, replaced in zip((40, 41, 42), (90, 60, 7), strict=True):
        org_rule(world.home, days=days, replaces=default(days=replaced))
        org_rule(world.away, days=days)
    with CaptureQueriesContext(connection) as many:
        client.get(RULES)
    assert len(many) == len(few)


def test_the_list_says_when_whose_and_to_whom(world, login):
    org_rule(world.home, replaces=default(), to_coach=False)
    content = login(world.org_admin).get(RULES).content.decode()
    assert "45 days before expiry" in content
    assert "Riverbend Family Services" in content
    assert "person, leader" in content
    assert "30 days before expiry" in content


def test_the_list_reads_in_time_order_defaults_first(world, login):
    org_rule(world.home, days=45)
    client = login(world.purveyor_admin)
    rules = client.get(RULES, {"program__id__exact": default().program_id}).context["cl"]
    moments = [(rule.organization_id, rule.moment) for rule in rules.result_list]
    assert moments == [
        (None, "90 days before expiry"),
        (None, "60 days before expiry"),
        (None, "30 days before expiry"),
        (None, "7 days before expiry"),
        (None, "1 day after expiry (on lapse)"),
        (None, "1 day after grace ends"),
        (world.home.pk, "45 days before expiry"),
    ]


@pytest.mark.parametrize("persona", ["leader", "coach", "practitioner"])
def test_people_without_an_admin_role_are_sent_to_sign_in(world, login, persona):
    client = login(getattr(world, persona))
    for url in (RULES, ADD, change_url(default())):
        response = client.get(url)
        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]


# What an organization admin may write -----------------------------------------------------


def test_org_admin_reads_a_default_but_cannot_change_it(world, login):
    rule = default()
    client = login(world.org_admin)
    response = client.get(change_url(rule))
    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    assert 'name="_save"' not in response.content.decode()
    assert client.post(change_url(rule), form_data(rule, subject="Ours")).status_code == 403
    assert ReminderRule.objects.get(pk=rule.pk).subject == rule.subject


def test_org_admin_cannot_delete_a_default(world, login):
    rule = default()
    client = login(world.org_admin)
    assert client.post(f"{RULES}{rule.pk}/delete/", {"post": "yes"}).status_code == 403
    response = client.post(
        RULES, {"action": "delete_selected", "_selected_action": [rule.pk], "post": "yes"}
    )
    assert response.status_code == 403
    assert ReminderRule.objects.filter(pk=rule.pk).exists()


def test_org_admin_deletes_their_own_rule(world, login):
    rule = org_rule(world.home)
    response = login(world.org_admin).post(f"{RULES}{rule.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not ReminderRule.objects.filter(pk=rule.pk).exists()


def test_org_admins_form_fixes_the_organization_to_theirs(world, login):
    form = login(world.org_admin).get(ADD).context["adminform"].form
    field = form.fields["organization"]
    assert field.disabled
    assert list(field.queryset) == [world.home]
    assert form.initial["organization"] == world.home.pk


def test_org_admin_posting_another_organization_still_creates_their_own_rule(world, login):
    response = login(world.org_admin).post(ADD, form_data(organization=world.away.pk))
    assert response.status_code == 302
    rule = ReminderRule.objects.get(days=45)
    assert rule.organization == world.home


def test_org_admin_posting_no_organization_cannot_create_a_default(world, login):
    response = login(world.org_admin).post(ADD, form_data(organization=""))
    assert response.status_code == 302
    assert ReminderRule.objects.get(days=45).organization == world.home
    assert ReminderRule.objects.filter(organization=None).count() == 24


def test_org_admin_replaces_a_default(world, login):
    replaced = default()
    response = login(world.org_admin).post(
        ADD, form_data(replaced, subject="Riverbend: {{ name }} expires soon", replaces=replaced.pk)
    )
    assert response.status_code == 302
    rule = ReminderRule.objects.get(replaces=replaced)
    assert rule.organization == world.home
    assert rule.days == 30
    assert rule.subject == "Riverbend: {{ name }} expires soon"


def test_replacing_a_default_twice_is_refused_on_the_form(world, login):
    replaced = default()
    org_rule(world.home, replaces=replaced)
    response = login(world.org_admin).post(ADD, form_data(replaced, replaces=replaced.pk))
    assert response.status_code == 200
    assert "This organization already replaces that default." in response.content.decode()


def test_replacing_another_programs_default_is_refused_with_a_reason(world, login):
    coach_default = default("coach")
    response = login(world.org_admin).post(ADD, form_data(replaces=coach_default.pk))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["replaces"] == ["That default belongs to MiiWrap Coach."]


def test_the_replaces_choices_are_the_programs_defaults(world, login):
    rule = org_rule(world.home)
    form = login(world.org_admin).get(change_url(rule)).context["adminform"].form
    choices = set(form.fields["replaces"].queryset)
    assert choices == set(ReminderRule.objects.filter(organization=None, program=rule.program))
    assert len(choices) == 6


def test_a_default_offers_the_org_admin_a_prefilled_replacement(world, login):
    replaced = default("coach", "after_expiry", 1)
    client = login(world.org_admin)
    page = client.get(change_url(replaced)).content.decode()
    assert f"{ADD}?replaces={replaced.pk}" in page
    form = client.get(ADD, {"replaces": replaced.pk}).context["adminform"].form
    assert form.initial["subject"] == replaced.subject
    assert form.initial["program"] == replaced.program_id
    assert set(form.fields["replaces"].queryset) == set(
        ReminderRule.objects.filter(organization=None, program=replaced.program)
    )


def test_a_default_already_replaced_links_to_the_replacement(world, login):
    replaced = default()
    mine = org_rule(world.home, replaces=replaced)
    page = login(world.org_admin).get(change_url(replaced)).content.decode()
    assert change_url(mine) in page
    assert f"?replaces={replaced.pk}" not in page


def test_a_nonsense_replaces_in_the_address_is_ignored(world, login):
    response = login(world.org_admin).get(ADD, {"replaces": "x'1"})
    assert response.status_code == 200


# Placeholders -----------------------------------------------------------------------------


def test_the_form_lists_the_placeholders_and_their_meanings(world, login):
    content = login(world.org_admin).get(ADD).content.decode()
    assert "{{ expiry_date }}" in content
    assert "the last day the certification is valid" in content


def test_an_unknown_placeholder_is_a_form_error_naming_the_allowed_ones(world, login):
    rule = default()
    response = login(world.purveyor_admin).post(
        change_url(rule), form_data(rule, subject="{{ nmae }} expires soon")
    )
    assert response.status_code == 200
    [error] = response.context["adminform"].form.errors["subject"]
    assert "Unknown placeholder {{ nmae }}" in error
    assert "{{ name }}, {{ first_name }}" in error
    assert ReminderRule.objects.get(pk=rule.pk).subject == rule.subject


def test_an_unknown_placeholder_in_the_html_body_is_a_form_error(world, login):
    response = login(world.org_admin).post(ADD, form_data(body_html="<p>{{ secret }}</p>"))
    assert response.status_code == 200
    assert (
        "Unknown placeholder {{ secret }}"
        in response.context["adminform"].form.errors["body_html"][0]
    )
    assert not ReminderRule.objects.filter(organization=world.home).exists()


# The preview ------------------------------------------------------------------------------


def test_the_change_page_previews_the_email_with_the_sample_person(world, login):
    response = login(world.purveyor_admin).get(change_url(default()))
    content = response.content.decode()
    assert "Pat Example: MiiWrap Practitioner expires on 2026-12-31" in content
    assert "Hello Cora Coach," in content
    assert "Progress toward recertification: 1 of 2 qualifying observations" in srcdoc(response)


def test_the_preview_keeps_an_organizations_html_inside_the_sandbox(world, login):
    rule = org_rule(
        world.home,
        body_html='<p onclick="x()">Hi {{ first_name }}</p><script>alert("pwned")</script>',
    )
    response = login(world.purveyor_admin).get(change_url(rule))
    assert '<script>alert("pwned")</script>' in srcdoc(response)
    assert "<p>Hi Pat</p>" not in srcdoc(response)
    assert '<p onclick="x()">Hi Pat</p>' in srcdoc(response)
    assert "<script>alert" not in outside_frames(response)
    assert 'onclick="x()"' not in outside_frames(response)


def test_a_text_only_email_is_previewed_with_its_link_escaped_into_the_frame(world, login):
    response = login(world.org_admin).get(change_url(default()))
    assert '<a href="http://127.0.0.1:8000/people/1/"' in srcdoc(response)
    assert '<a href="http://127.0.0.1:8000/people/1/"' not in outside_frames(response)


def test_the_preview_fills_values_in_escaped_in_the_html_body(world, login, monkeypatch):
    from certification import reminders

    monkeypatch.setitem(reminders.SAMPLE, "name", "<b>Pat</b>")
    rule = org_rule(world.home, body_html="<p>{{ name }}</p>")
    response = login(world.org_admin).get(change_url(rule))
    assert "<p>&lt;b&gt;Pat&lt;/b&gt;</p>" in srcdoc(response)


def test_html_already_marked_safe_is_still_escaped_into_the_frame(world, login, monkeypatch):
    from django.utils.safestring import mark_safe

    from certification import reminders

    marked = mark_safe('<a href="https://example.org/">renew</a><script>x()</script>')
    monkeypatch.setattr(reminders, "render", lambda rule, values: ("Subject", "Text", marked))
    response = login(world.org_admin).get(change_url(default()))
    assert srcdoc(response) == marked
    assert "<script>x()" not in outside_frames(response)


def test_unsaved_edits_are_previewed_without_saving(world, login):
    rule = org_rule(world.home)
    client = login(world.org_admin)
    assert 'formaction="' + preview_url(rule) in client.get(change_url(rule)).content.decode()
    response = client.post(preview_url(rule), form_data(rule, subject="Soon: {{ first_name }}"))
    assert response.status_code == 200
    assert "Soon: Pat" in response.content.decode()
    assert ReminderRule.objects.get(pk=rule.pk).subject == rule.subject


def test_a_new_rule_is_previewed_before_it_exists(world, login):
    response = login(world.org_admin).post(preview_url(), form_data(subject="New: {{ name }}"))
    assert response.status_code == 200
    assert "New: Pat Example" in response.content.decode()
    assert not ReminderRule.objects.filter(organization=world.home).exists()


def test_a_preview_of_broken_edits_says_what_to_fix(world, login):
    rule = org_rule(world.home)
    response = login(world.org_admin).post(preview_url(rule), form_data(rule, subject="{{ x }}"))
    assert response.status_code == 200
    content = html.unescape(response.content.decode())
    assert "cannot be previewed until they are fixed" in content
    assert "Subject: Unknown placeholder {{ x }}" in content


def test_org_admin_cannot_preview_edits_to_a_default(world, login):
    rule = default()
    client = login(world.org_admin)
    assert "Preview unsaved edits" not in client.get(change_url(rule)).content.decode()
    assert client.post(preview_url(rule), form_data(rule)).status_code == 403


def test_the_preview_address_only_takes_posts(world, login):
    assert login(world.purveyor_admin).get(preview_url(default())).status_code == 405
