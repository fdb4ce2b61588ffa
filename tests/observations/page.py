"""Reading the observation form back from HTML, to check what a re-rendered page kept."""

import datetime as dt
import re
from html.parser import HTMLParser

from observations.models import ActivityType


class _Fields(HTMLParser):
    def __init__(self):
        super().__init__()
        self.checked, self.values, self.selected, self.texts = {}, {}, {}, {}
        self._select = self._textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and attrs.get("type") == "radio" and "checked" in attrs:
            self.checked[name] = attrs["value"]
        elif tag == "input" and attrs.get("type") not in ("radio", "hidden", "submit"):
            self.values[name] = attrs.get("value", "")
        elif tag == "select":
            self._select = name
        elif tag == "option" and self._select and "selected" in attrs:
            self.selected.setdefault(self._select, []).append(attrs["value"])
        elif tag == "textarea":
            self._textarea = name
            self.texts[name] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.texts[self._textarea] += data


def fields(response):
    """What the page's form shows: checked radios, input values, selected options, texts."""
    parser = _Fields()
    parser.feed(response.content.decode())
    return parser


def post_data(practitioner, version, scores, action="submit", **extra):
    """The form as a browser would send it, with these item scores."""
    data = {
        "practitioner": practitioner.pk,
        "rubric_version": version.pk,
        "observed_on": dt.date(2024, 5, 1).isoformat(),
        "activity": ActivityType.objects.get(name="Home visit").pk,
        "mode": "recorded",
        "duration_minutes": "45",
        "action": action,
    }
    data.update({f"item__{code}": value for code, value in scores.items()})
    data.update(extra)
    return data


def form_token(response):
    """The one-time token the page's form was drawn with."""
    tokens = re.findall(r'name="form_token" value="([^"]+)"', response.content.decode())
    assert len(tokens) == 1, f"expected one form token on the page, found {tokens}"
    return tokens[0]
