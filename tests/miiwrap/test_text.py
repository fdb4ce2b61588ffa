"""What people may type: single-line fields refuse control characters, prose keeps its
line breaks, every free-text field has a limit, and new fields get the checks too."""

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models

from miiwrap import text

SINGLE_LINE = [
    "people.Person.first_name",
    "people.Person.last_name",
    "people.Person.job_title",
    "people.Organization.name",
    "people.Team.name",
    "auth.User.first_name",
    "auth.User.last_name",
    "observations.Rubric.name",
    "observations.Domain.name",
    "observations.Item.label",
    "observations.Level.label",
    "observations.Metric.label",
    "observations.ActivityType.name",
    "certification.Program.name",
    "certification.ReminderRule.subject",
]
PROSE = {
    "observations.Observation.strengths": text.FEEDBACK,
    "observations.Observation.growth_areas": text.FEEDBACK,
    "observations.Observation.next_steps": text.FEEDBACK,
    "observations.Observation.response": text.FEEDBACK,
    "observations.Amendment.reason": text.NOTE,
    "certification.CertificationPeriod.override_reason": text.NOTE,
    "certification.CertificationPeriod.backdate_reason": text.NOTE,
    "certification.CertificationPeriod.revocation_reason": text.NOTE,
    "coaching.DriftAlert.note": text.NOTE,
    "certification.ReminderRule.body_text": text.DOCUMENT,
    "observations.Item.guidance": text.DOCUMENT,
}


def field(path):
    label, name = path.rsplit(".", 1)
    return apps.get_model(label)._meta.get_field(name)


@pytest.mark.parametrize("path", SINGLE_LINE)
@pytest.mark.parametrize("bad", ["a\nb", "a\rb", "a\tb", "a\x00b", "a\x1bb", "a\x85b", "a\u2028b"])
def test_single_line_fields_refuse_control_characters(path, bad):
    with pytest.raises(ValidationError, match="single line of text"):
        field(path).run_validators(bad)


@pytest.mark.parametrize("path", SINGLE_LINE)
def test_single_line_fields_take_any_printable_name(path):
    field(path).run_validators("Zoë O\u2019Brien-Ngũgĩ 李")


@pytest.mark.parametrize("path, limit", PROSE.items())
def test_prose_keeps_line_breaks_and_tabs_up_to_its_limit(path, limit):
    field(path).run_validators("One\r\n\tTwo" + "x" * (limit - 9))
    with pytest.raises(ValidationError):
        field(path).run_validators("x" * (limit + 1))


@pytest.mark.parametrize("path", PROSE)
@pytest.mark.parametrize("bad", ["a\x00b", "a\x07b", "a\x9bb"])
def test_prose_refuses_other_control_characters(path, bad):
    with pytest.raises(ValidationError, match="cannot be stored or shown"):
        field(path).run_validators(bad)


@pytest.mark.parametrize("path, limit", PROSE.items())
def test_the_form_field_states_the_limit(path, limit):
    form_field = field(path).formfield()
    assert form_field.max_length == limit
    assert form_field.widget.attrs["maxlength"] == str(limit)
    assert f"Up to {limit:,} characters." in form_field.help_text


def test_every_text_field_has_a_limit():
    assert text.check_text_fields() == []


def test_a_text_field_declared_without_a_limit_is_named(monkeypatch):
    loose = models.TextField(blank=True)
    loose.name = "remarks"
    model = apps.get_model("observations.Observation")
    monkeypatch.setattr(text, "_our_fields", lambda: iter([(model, loose)]))
    [error] = text.check_text_fields()
    assert error.id == "miiwrap.E001" and "Observation.remarks" in error.msg


@pytest.mark.parametrize(
    "raw, line",
    [
        ("New feedback from Cora\r\nSmith", "New feedback from Cora Smith"),
        ("  Tabs\tand   runs  ", "Tabs and runs"),
        ("Nul\x00 and bell\x07", "Nul and bell"),
        ("Line\u2028separator", "Line separator"),
    ],
)
def test_one_line_makes_a_subject_safe_for_an_email_header(raw, line):
    assert text.one_line(raw) == line
