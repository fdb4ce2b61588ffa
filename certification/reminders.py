"""Reminder emails: the placeholders an admin may write, and filling them in.

Placeholders are written {{ name }}. Only the names below exist; values are plain text,
escaped in the HTML body, so a template can never reach into the database.
"""

import re

from django.utils.html import escape, linebreaks, urlize

from miiwrap.text import one_line

PLACEHOLDERS = {
    "name": "the certified person's full name",
    "first_name": "their first name",
    "recipient": "the name of whoever receives the email",
    "program": "the certification, e.g. MiiWrap Practitioner",
    "organization": "their organization",
    "expiry_date": "the last day the certification is valid",
    "grace_end": "the last day renewal is still allowed",
    "days_left": "days from today until expiry (negative after it)",
    "state": "where the certification stands today, e.g. Window open",
    "progress": "progress toward the recertification rule, in one line",
    "link": "the address of the person's page",
}
PATTERN = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def unknown_placeholders(template):
    return sorted({name for name in PATTERN.findall(template) if name not in PLACEHOLDERS})


def placeholder_list():
    return ", ".join("{{ " + name + " }}" for name in PLACEHOLDERS)


def fill(template, values, html=False):
    """The template with each placeholder replaced by its value (escaped for HTML)."""

    def value(match):
        text = str(values.get(match.group(1), match.group(0)))
        return escape(text) if html else text

    return PATTERN.sub(value, template)


def render(rule, values):
    """(subject, text, html) of a rule's email for these values."""
    subject = one_line(fill(rule.subject, values))
    text = fill(rule.body_text, values)
    if rule.body_html.strip():
        html = fill(rule.body_html, values, html=True)
    else:
        html = linebreaks(urlize(text, autoescape=True))
    return subject, text, html


SAMPLE = {
    "name": "Pat Example",
    "first_name": "Pat",
    "recipient": "Cora Coach",
    "program": "MiiWrap Practitioner",
    "organization": "Riverbend Family Services",
    "expiry_date": "2026-12-31",
    "grace_end": "2027-01-30",
    "days_left": 30,
    "state": "Window open",
    "progress": "1 of 2 qualifying observations; 1 more by 2026-12-31",
    "link": "http://127.0.0.1:8000/people/1/",
}
