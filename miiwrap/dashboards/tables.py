"""The tables every dashboard shows: each one its page's numbers, its chart's screen-reader
version, and a CSV download, from the same cells so the three never disagree."""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from html import escape  # the standard library's: Django's, lazy-aware, is 3x slower

from django.utils.safestring import mark_safe

from miiwrap.charts import format_number
from miiwrap.spreadsheet import csv_download, csv_lines

NUMBERS = (int, float, Decimal)


@dataclass
class Cell:
    value: object
    href: str | None = None
    css: str = ""
    note: str = ""  # a tooltip: what the cell counts
    # The people the cell names, as (id, name): each name links where the viewer's
    # miiwrap.people.links.Reach says, once the view has filled `hrefs` (link_cells).
    people: tuple = ()
    prefer: str | None = None
    hrefs: list | None = None

    @property
    def is_number(self):
        return isinstance(self.value, NUMBERS) and not isinstance(self.value, bool)

    @property
    def is_date(self):
        return isinstance(self.value, dt.date)

    @property
    def text(self):
        return self._text(self.is_number, self.is_date)

    def _text(self, number, date):
        if number:
            return format_number(self.value)
        if date:
            return f"{self.value:%Y-%m-%d}"
        return "—" if self.value in (None, "") else str(self.value)

    def as_html(self, tag):
        """The cell as a <th> (a row's first) or <td>: numbers right, dates unbroken."""
        number, date = self.is_number, self.is_date
        css = "text-end" if number else "text-nowrap" if date else ""
        css = " ".join(filter(None, [css, self.css, "fw-normal" if tag == "th" else ""]))
        scope = ' scope="row"' if tag == "th" else ""
        inner = self._names() if self.people else escape(self._text(number, date))
        if self.href:
            inner = f'<a href="{escape(self.href)}">{inner}</a>'
        return f'<{tag}{scope} class="{escape(css)}">{inner}</{tag}>'

    def _names(self):
        hrefs = self.hrefs or [None] * len(self.people)
        return ", ".join(
            f'<a href="{escape(href)}">{escape(name)}</a>' if href else escape(name)
            for (_, name), href in zip(self.people, hrefs, strict=True)
        )


def person_cell(pk, name, prefer=None):
    """A cell naming one person, linked for each viewer by the view."""
    return Cell(name, people=((pk, name),), prefer=prefer)


def people_cell(people, prefer=None):
    """A cell naming several people [(id, name)], comma-separated."""
    people = tuple(people)
    return Cell(", ".join(name for _, name in people), people=people, prefer=prefer)


def cell(value):
    return value if isinstance(value, Cell) else Cell(value)


@dataclass
class Table:
    key: str  # its name in ?export=<key>
    caption: str
    headings: list
    rows: list = field(default_factory=list)  # lists of Cells (or plain values)
    total: int | None = None  # rows there are, when `rows` shows the first few
    empty: str = "Nothing to show for these filters."

    def __post_init__(self):
        self.rows = [[cell(value) for value in row] for row in self.rows]

    def body(self):
        """The rows as HTML, written here rather than by the template language, which
        took a tenth of a millisecond a cell: a leader's page has some two thousand."""
        rows = ("<tr>" + "".join(_cells_html(row)) + "</tr>" for row in self.rows)
        return mark_safe("\n".join(rows))  # every text in it escaped by Cell.as_html

    @property
    def more(self):
        return (self.total or 0) - len(self.rows)


def _cells_html(row):
    for index, c in enumerate(row):
        yield c.as_html("th" if index == 0 else "td")


def as_csv(table, stem):
    """The table as a CSV download: cell values, dates as ISO, numbers unrounded."""
    rows = ([_csv_value(c) for c in row] for row in table.rows)
    return csv_download(csv_lines(table.headings, rows), f"{stem}-{table.key}")


def _csv_value(c):
    if isinstance(c.value, float | Decimal):
        return round(float(c.value), 2)
    return "" if c.value is None else c.value
