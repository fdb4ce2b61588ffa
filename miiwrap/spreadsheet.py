"""CSV downloads that a spreadsheet opens safely, streamed as the rows are read."""

import csv

from django.http import StreamingHttpResponse
from django.utils import timezone

# A spreadsheet runs a cell starting with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe(value):
    """The cell as written: text that a spreadsheet would run gets a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class Echo:
    """A file-like object whose write() hands the line back, for streaming."""

    def write(self, value):
        return value


def csv_lines(headings, rows):
    """The heading line, then one line per row of cells, each cell made safe."""
    writer = csv.writer(Echo())
    yield writer.writerow(headings)
    for cells in rows:
        yield writer.writerow([safe(cell) for cell in cells])


def csv_download(lines, stem):
    """A streamed attachment named `<stem>-<today>.csv`."""
    name = f"{stem}-{timezone.localdate():%Y-%m-%d}.csv"
    return StreamingHttpResponse(
        lines,
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
