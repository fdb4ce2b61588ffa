"""Filling a reminder rule's subject and bodies with one person's values."""

from certification import reminders
from certification.models import ReminderRule


def test_a_name_stored_with_a_line_break_still_gives_a_one_line_subject():
    rule = ReminderRule(subject="Renew soon, {{ first_name }}", body_text="Dear {{ name }}")
    values = {**reminders.SAMPLE, "first_name": "Pat\r\nBcc: x@example.org\x07", "name": "Pat"}
    subject, text, _ = reminders.render(rule, values)
    assert subject == "Renew soon, Pat Bcc: x@example.org"
    assert text == "Dear Pat"
