"""Charts for the dashboards, drawn on the server as SVG.

Drawn here rather than in the browser so a page works with no internet, prints crisply,
and carries its numbers: each point and bar holds its value in data-* attributes and a
<title> (for a browser test to read back, and as a tooltip), and the whole chart's
numbers are written out in its <desc> for screen readers, which treat a role="img"
chart as one picture and never reach the shapes inside.

No script, stylesheet or external reference: every style is a presentation attribute
(fill, stroke), never a style="" attribute, which the pages' Content-Security-Policy
refuses. Every text reaches the markup escaped (the standard library's html.escape), so
names and labels are safe.
"""

import datetime as dt
import functools
import hashlib
import math
import numbers
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from html import escape
from itertools import groupby, pairwise

from django.utils.safestring import SafeString

from miiwrap.months import PARTIAL

# Readable on white (contrast about 5:1), so they serve for text as well as bars.
BAND_COLORS = {
    "high": "#007A5E",
    "adequate": "#0072B2",
    "borderline": "#9A6700",
    "low": "#B8321F",
}

# Okabe-Ito, strongest contrast first; its yellow is left out, too faint on white.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#000000", "#E69F00", "#56B4E9")
# With hollow markers on every other series, these tell series apart in greyscale print.
# Seven colours, five dashes and two markers cycle together: the first 70 series all differ.
DASHES = ("", "7 4", "2 3", "10 3 2 3", "4 2 1 2")
NO_DATA = "No data in this range"
# A value not yet final (a month still running): its label's note, and its line's dash.
PARTIAL_NOTE = PARTIAL
PARTIAL_DASH = "1 4"
NO_VALUE = "—"
FONT = "system-ui, sans-serif"
WIDTH = 760
PLOT_TOP = 14
PLOT_HEIGHT = 240
LEGEND_ROW = 20
MAX_X_LABELS = 12
BAR_HEIGHT = 18
BAR_PITCH = 26
TENTH = Decimal("0.1")
# Nudges put against rounding error, so 60.000000001 / 5 still counts as a whole 12.
EPSILON = 1e-9


@functools.lru_cache(maxsize=4096)
def format_number(value):
    """The text a number shows as, the same in tables and charts (remembered: a
    dashboard writes the same few thousand numbers on every view).

    "—" for None (or NaN); whole numbers without decimals; any other number to one
    decimal, half away from zero ("82.46" and "82.45" both read "82.5", and 82.96
    reads "83"); never in exponent form.
    """
    if _number(value) is None:
        return NO_VALUE
    if isinstance(value, numbers.Integral):
        return str(int(value))
    exact = value if isinstance(value, Decimal) else Decimal(repr(float(value)))
    with localcontext() as context:
        # A number too long for the default precision would make quantize fail.
        context.prec = max(context.prec, exact.adjusted() + 3)
        text = f"{exact.quantize(TENTH, rounding=ROUND_HALF_UP):f}".removesuffix(".0")
    return "0" if text == "-0" else text


def line_chart(*, title, labels, series, thresholds=(), low=None, high=None, unit="", partial=()):
    """A line per series over the labels, with dashed threshold lines.

    series: (name, values), one value (or None, for no data) per label; None breaks the
    line. thresholds: (name, value). low/high fix the y range (points outside it fall
    outside the plot, and thresholds outside it are left out); otherwise the range
    covers the data and thresholds. With unit "%" a derived range stops at 0 and 100.
    partial: the indexes of labels whose values are not final (a month still running):
    their column is shaded and labelled "so far", their points hollow with a dashed rim,
    and the lines reach them faint and dotted, so they never read as a rise or a fall.
    """
    labels = [str(label) for label in labels]
    series = [(str(name), list(values)) for name, values in series]
    thresholds = [(str(name), value) for name, value in thresholds]
    partial = frozenset(partial)
    _check(labels, series, low, high)
    frame = _line_frame(labels, series, thresholds, (low, high), unit)
    body = [
        *_partial_columns(frame, labels, partial),
        *_y_grid(frame),
        *_axes(frame),
        *_threshold_lines(frame, thresholds, unit),
        *_series_lines(frame, series, partial),
        *_series_points(frame, labels, series, unit, partial),
        *_x_labels(frame, labels, partial),
        *_legend(frame, series),
        *_no_data_note(frame, series),
    ]
    description = _line_description(_said(labels, partial), series, thresholds, unit)
    return _svg(title, frame.height, body, description)


def bar_chart(*, title, bars, unit="", colors=None, width=WIDTH):
    """Horizontal bars, each with its value written at its end.

    bars: (label, value), values ≥ 0 (None shows "—" and no bar). colors: {label: css
    colour}, else every bar is blue. With unit "%" bars are measured against 100, so a
    half-full bar means 50 %. A narrower `width` suits a chart in a narrow column: its
    text keeps a readable size.
    """
    bars = [(str(label), value) for label, value in bars]
    if any((_number(value) or 0) < 0 for _, value in bars):
        raise ValueError("bar_chart draws values of 0 or more")
    if not bars:
        return _svg(title, 60, [_note(width / 2, 34, NO_DATA)], NO_DATA, width)
    layout = _bar_layout(bars, unit, width)
    body = [_baseline(layout, len(bars))]
    for row, (label, value) in enumerate(bars):
        color = (colors or {}).get(label, PALETTE[0])
        body += _bar(layout, row, label, value, color, unit)
    return _svg(title, 16 + len(bars) * BAR_PITCH, body, _bar_description(bars, unit), width)


# Shared pieces.


def _number(value):
    """The value as a float to draw, or None where there is nothing to draw."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _with_unit(value, unit):
    return f"{format_number(value)} {unit}" if unit else format_number(value)


def _reading(value, unit):
    """A value as a screen reader should say it ("no data" rather than a dash)."""
    return "no data" if _number(value) is None else _with_unit(value, unit)


def _c(coordinate):
    """A coordinate for an attribute: a tenth of a unit is finer than any screen shows."""
    return f"{coordinate:.1f}"


def _text_width(text, size=12):
    # A fair average glyph width for system-ui; the layout only needs to avoid overlap.
    return len(text) * size * 0.6


def _tag(name, content=None, /, **attributes):
    """One element. Attributes are keywords: stroke_width is stroke-width, class_ is class,
    and None leaves an attribute out. String content is escaped; SafeStrings are not.

    Written with the standard library's escape rather than format_html, which costs
    several times as much: a dashboard draws some thousand elements."""
    spelled = "".join(
        f' {key.rstrip("_").replace("_", "-")}="{_escaped(value)}"'
        for key, value in attributes.items()
        if value is not None
    )
    if content is None:
        return SafeString(f"<{name}{spelled} />")
    return SafeString(f"<{name}{spelled}>{_escaped(content)}</{name}>")


def _escaped(value):
    return value if isinstance(value, SafeString) else escape(str(value))


def _join(parts):
    # Each part escaped unless already safe: a plain string slipped in is still escaped.
    return SafeString("".join(_escaped(part) for part in parts))


def _chart_id(title):
    """An id for the chart's <title>, the same on every render; the hash tells apart two
    titles that slug alike."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40].strip("-")
    digest = hashlib.sha256(title.encode()).hexdigest()[:8]
    return "-".join(part for part in ("chart", slug, digest) if part)


def _svg(title, height, body, description, width=WIDTH):
    title = str(title)
    ident = _chart_id(title)
    children = [
        _tag("title", title, id=f"{ident}-title"),
        _tag("desc", description, id=f"{ident}-desc"),
    ]
    return _tag(
        "svg",
        _join([*children, *body]),
        xmlns="http://www.w3.org/2000/svg",
        viewBox=f"0 0 {width:g} {_c(height)}",
        role="img",
        aria_labelledby=f"{ident}-title",
        aria_describedby=f"{ident}-desc",
        class_="chart",
        preserveAspectRatio="xMinYMin meet",
        font_family=FONT,
        font_size="12",
    )


def _note(x, y, text):
    return _tag("text", text, x=_c(x), y=_c(y), text_anchor="middle", fill="#555", font_size="13")


# The line chart.


@dataclass(frozen=True)
class _Scale:
    low: float
    high: float
    ticks: list
    decimals: int

    def tick_text(self, tick):
        text = f"{tick:.{self.decimals}f}"
        return text.removeprefix("-") if float(text) == 0 else text


@dataclass(frozen=True)
class _Frame:
    """Where the plot sits in the chart, and the value each pixel stands for."""

    left: float
    right: float
    scale: _Scale
    count: int
    legend: list  # (x, y) of each series' legend entry
    height: float
    top: float = PLOT_TOP
    bottom: float = PLOT_TOP + PLOT_HEIGHT

    def x(self, index):
        if self.count == 1:
            return (self.left + self.right) / 2
        return self.left + index * (self.right - self.left) / (self.count - 1)

    def y(self, value):
        scale = self.scale
        return self.bottom - (value - scale.low) / (scale.high - scale.low) * PLOT_HEIGHT


def _check(labels, series, low, high):
    if low is not None and high is not None and not low < high:
        raise ValueError(f"low ({low}) must be below high ({high})")
    for name, values in series:
        if len(values) != len(labels):
            raise ValueError(f"series {name!r} has {len(values)} values for {len(labels)} labels")


def _line_frame(labels, series, thresholds, fixed, unit):
    """The plot's margins come from what sits beside it: tick labels on the left, threshold
    labels on the right, the legend below; and the end x labels overhang both sides."""
    values = [value for _, row in series for value in row] + [value for _, value in thresholds]
    drawn = [number for number in map(_number, values) if number is not None]
    scale = _y_scale(drawn, fixed, 100.0 if unit == "%" else None)
    overhang = max((_text_width(label, 11) / 2 + 4 for label in labels), default=0)
    left = max(12 + max(_text_width(scale.tick_text(tick)) for tick in scale.ticks), overhang)
    beside = [_text_width(_threshold_text(name, value)) + 12 for name, value in thresholds]
    right = WIDTH - max(16, overhang, *beside)
    legend = _legend_layout([name for name, _ in series], left)
    rows = len({y for _, y in legend}) or 1
    height = PLOT_TOP + PLOT_HEIGHT + 40 + rows * LEGEND_ROW
    return _Frame(left, right, scale, len(labels), legend, height)


def _y_scale(values, fixed, cap):
    """The y range: as given, else the data's, padded a little and rounded out to ticks."""
    low, high = _padded_extent(values, cap)
    low, high = (
        low if fixed[0] is None else float(fixed[0]),
        high if fixed[1] is None else float(fixed[1]),
    )
    if high <= low:
        high = low + 1
    step = _nice_step(low, high)
    low = low if fixed[0] is not None else math.floor(low / step + EPSILON) * step
    high = high if fixed[1] is not None else math.ceil(high / step - EPSILON) * step
    first, last = math.ceil(low / step - EPSILON), math.floor(high / step + EPSILON)
    ticks = [round(k * step, _decimals(step)) for k in range(first, last + 1)]
    return _Scale(low, high, ticks, _decimals(step))


def _padded_extent(values, cap):
    """The data's extent with 5 % to spare; an equal span when all values are one value.

    Counts and percentages get no room below 0 or above 100 %, which they cannot pass.
    """
    if not values:
        return 0.0, 1.0
    low, high = min(values), max(values)
    pad = (high - low) * 0.05 or abs(high) * 0.1 or 1.0
    padded_low = max(low - pad, 0.0) if low >= 0 else low - pad
    padded_high = min(high + pad, cap) if cap is not None and high <= cap else high + pad
    return padded_low, padded_high


def _nice_step(low, high):
    """A step of 1, 2, 2.5 or 5 times a power of ten giving 4 to 6 intervals (5 to 7
    gridlines), the one wasting least room."""
    base = 10 ** math.floor(math.log10((high - low) / 5))
    steps = [_clean(m * base * f) for f in (0.1, 1, 10) for m in (1, 2, 2.5, 5)]

    def fit(step):
        intervals = math.ceil(high / step - EPSILON) - math.floor(low / step + EPSILON)
        return (not 4 <= intervals <= 6, intervals * step, abs(intervals - 5))

    return min(steps, key=fit)


def _clean(number):
    """A step without float noise (3 × 0.1 is 0.30000000000000004), at any magnitude."""
    return float(f"{number:.12g}")


def _decimals(step):
    return max(0, -Decimal(repr(step)).normalize().as_tuple().exponent)


def _y_grid(frame):
    for tick in frame.scale.ticks:
        y = _c(frame.y(tick))
        yield _tag(
            "line",
            x1=_c(frame.left),
            x2=_c(frame.right),
            y1=y,
            y2=y,
            stroke="#e3e3e3",
            data_tick=frame.scale.tick_text(tick),
        )
        yield _tag(
            "text",
            frame.scale.tick_text(tick),
            x=_c(frame.left - 6),
            y=_c(frame.y(tick) + 4),
            text_anchor="end",
            fill="#444",
        )


def _axes(frame):
    left, right, top, bottom = map(_c, (frame.left, frame.right, frame.top, frame.bottom))
    yield _tag("line", x1=left, x2=left, y1=top, y2=bottom, stroke="#888")
    yield _tag("line", x1=left, x2=right, y1=bottom, y2=bottom, stroke="#888")


def _threshold_text(name, value):
    return f"{name} {format_number(value)}"


def _threshold_lines(frame, thresholds, unit):
    """Each threshold within the range, top down; its label is nudged clear of the one
    above when two thresholds are close."""
    shown = sorted(
        (frame.y(_number(value)), name, value)
        for name, value in thresholds
        if _number(value) is not None and frame.scale.low <= _number(value) <= frame.scale.high
    )
    label_ys = _spread([y for y, _, _ in shown], 13)
    for (y, name, value), label_y in zip(shown, label_ys, strict=True):
        yield from _threshold(frame, y, label_y, name, value, unit)


def _threshold(frame, y, label_y, name, value, unit):
    color = BAND_COLORS.get(name, "#555")
    tip = _tag("title", f"{name}: {_with_unit(value, unit)}")
    yield _tag(
        "line",
        tip,
        x1=_c(frame.left),
        x2=_c(frame.right),
        y1=_c(y),
        y2=_c(y),
        stroke=color,
        stroke_dasharray="5 4",
        data_threshold=name,
        data_value=format_number(value),
    )
    label = _threshold_text(name, value)
    yield _tag("text", label, x=_c(frame.right + 6), y=_c(label_y + 4), fill=color)


def _spread(positions, gap):
    """Sorted label positions, pushed down where two would overprint."""
    placed = []
    for position in positions:
        placed.append(max(position, placed[-1] + gap) if placed else position)
    return placed


def _style(index):
    """Colour, dash pattern and hollow marker of the index-th series."""
    return PALETTE[index % len(PALETTE)], DASHES[index % len(DASHES)], index % 2 == 1


def _runs(values):
    """The indexes of each unbroken stretch of values; None breaks the line."""
    present = groupby(range(len(values)), key=lambda index: _number(values[index]) is not None)
    return [list(indexes) for is_present, indexes in present if is_present]


def _series_lines(frame, series, partial):
    for index, (name, values) in enumerate(series):
        color, dash, _ = _style(index)
        for run in _runs(values):
            for stretch, faint in _stretches(run, partial):
                points = " ".join(
                    f"{_c(frame.x(i))},{_c(frame.y(_number(values[i])))}" for i in stretch
                )
                yield _tag(
                    "polyline",
                    points=points,
                    fill="none",
                    stroke=color,
                    stroke_width="1.5" if faint else "2",
                    stroke_dasharray=PARTIAL_DASH if faint else dash or None,
                    stroke_opacity="0.6" if faint else None,
                    stroke_linejoin="round",
                    data_series=name,
                    data_partial="true" if faint else None,
                )


def _stretches(run, partial):
    """A run cut into (indexes, faint) stretches of two points or more: a step that
    reaches a partial point is faint, the others as the series draws them."""
    found = []
    for left, right in pairwise(run):
        faint = left in partial or right in partial
        if found and found[-1][1] == faint:
            found[-1][0].append(right)
        else:
            found.append(([left, right], faint))
    return found


def _marker(x, y, index, content=None, partial=False, **data):
    color, _, hollow = _style(index)
    return _tag(
        "circle",
        content,
        cx=_c(x),
        cy=_c(y),
        r="4.5" if partial else "3.5",
        fill="#fff" if hollow or partial else color,
        stroke=color,
        stroke_width="1.5",
        stroke_dasharray="2 1.5" if partial else None,
        **data,
    )


def _series_points(frame, labels, series, unit, partial):
    # Drawn after every line, so no line hides another series' point.
    for index, (name, values) in enumerate(series):
        for position, (label, value) in enumerate(zip(labels, values, strict=True)):
            if _number(value) is None:
                continue
            so_far = position in partial
            shown = f"{label} ({PARTIAL_NOTE})" if so_far else label
            tip = _tag("title", f"{name}, {shown}: {_with_unit(value, unit)}")
            yield _marker(
                frame.x(position),
                frame.y(_number(value)),
                index,
                tip,
                partial=so_far,
                data_series=name,
                data_label=label,
                data_value=format_number(value),
                data_partial="true" if so_far else None,
            )


def _partial_columns(frame, labels, partial):
    """A grey column behind each partial label's points, half a step either side."""
    half = (frame.right - frame.left) / (2 * max(frame.count - 1, 1))
    for position in sorted(p for p in partial if 0 <= p < len(labels)):
        x = frame.x(position)
        left, right = max(frame.left, x - half), min(frame.right, x + half)
        yield _tag(
            "rect",
            _tag("title", f"{labels[position]}: {PARTIAL_NOTE}, not yet a whole month"),
            x=_c(left),
            y=_c(frame.top),
            width=_c(right - left),
            height=_c(frame.bottom - frame.top),
            fill="#efefef",
            data_partial=labels[position],
        )


def _said(labels, partial):
    return [f"{text} ({PARTIAL_NOTE})" if i in partial else text for i, text in enumerate(labels)]


def _label_step(frame, labels):
    """Draw every k-th label: all of them up to twelve, else as few as keeps them apart."""
    if len(labels) <= MAX_X_LABELS:
        return 1
    spacing = (frame.right - frame.left) / (len(labels) - 1)
    widest = max(_text_width(label, 11) for label in labels) + 8
    return max(math.ceil(len(labels) / MAX_X_LABELS), math.ceil(widest / spacing))


def _x_labels(frame, labels, partial=frozenset()):
    step = _label_step(frame, labels)
    for position, label in enumerate(labels):
        # Counted back from the end, so the latest label is always shown; a partial
        # one is always shown too, with "so far" under it.
        if (len(labels) - 1 - position) % step and position not in partial:
            continue
        x = _c(frame.x(position))
        yield _tag(
            "text",
            label,
            x=x,
            y=_c(frame.bottom + 18),
            text_anchor="middle",
            fill="#333",
            font_size="11",
        )
        if position in partial:
            yield _tag(
                "text",
                PARTIAL_NOTE,
                x=x,
                y=_c(frame.bottom + 31),
                text_anchor="middle",
                fill="#333",
                font_size="11",
                font_style="italic",
                data_partial=label,
            )


def _legend_layout(names, left):
    """Where each legend entry goes: in rows under the plot, wrapping when a row is full."""
    places, x, row = [], left, 0
    for name in names:
        width = 30 + _text_width(name) + 18
        if x + width > WIDTH - 8 and x > left:
            x, row = left, row + 1
        places.append((x, PLOT_TOP + PLOT_HEIGHT + 44 + row * LEGEND_ROW))
        x += width
    return places


def _legend(frame, series):
    for index, ((name, _), (x, y)) in enumerate(zip(series, frame.legend, strict=True)):
        color, dash, _ = _style(index)
        yield _tag(
            "line",
            x1=_c(x),
            x2=_c(x + 24),
            y1=_c(y),
            y2=_c(y),
            stroke=color,
            stroke_width="2",
            stroke_dasharray=dash or None,
        )
        yield _marker(x + 12, y, index)
        yield _tag("text", name, x=_c(x + 30), y=_c(y + 4), fill="#222")


def _no_data_note(frame, series):
    if not any(_number(value) is not None for _, values in series for value in values):
        yield _note((frame.left + frame.right) / 2, (frame.top + frame.bottom) / 2, NO_DATA)


def _line_description(labels, series, thresholds, unit):
    lines = [
        f"{name}: "
        + ", ".join(
            f"{label} {_reading(value, unit)}" for label, value in zip(labels, values, strict=True)
        )
        for name, values in series
    ]
    if thresholds:
        lines.append(
            "Thresholds: "
            + ", ".join(f"{name} {_reading(value, unit)}" for name, value in thresholds)
        )
    return ". ".join(lines) or NO_DATA


# The bar chart.


@dataclass(frozen=True)
class _BarLayout:
    start: float  # where the bars begin, after the label column
    pixels_per_unit: float


def _bar_layout(bars, unit, width):
    label_column = min(max(_text_width(_short(label)) for label, _ in bars), width / 3)
    value_column = max(_text_width(_with_unit(value, unit)) for _, value in bars)
    start = 8 + label_column + 10
    room = width - start - value_column - 16
    largest = max((_number(value) or 0 for _, value in bars), default=0)
    full = max(largest, 100.0) if unit == "%" else largest
    return _BarLayout(start, room / full if full else 0.0)


def _short(label):
    # The full label stays in the bar's title and data-label.
    return label if len(label) <= 40 else label[:39] + "…"


def _baseline(layout, count):
    x = _c(layout.start)
    return _tag("line", x1=x, x2=x, y1="6", y2=_c(10 + count * BAR_PITCH - 8), stroke="#888")


def _bar(layout, row, label, value, color, unit):
    top = 10 + row * BAR_PITCH
    length = (_number(value) or 0) * layout.pixels_per_unit
    middle = _c(top + BAR_HEIGHT / 2 + 4)
    tip = _tag("title", f"{label}: {_with_unit(value, unit)}")
    yield _tag(
        "text", _short(label), x=_c(layout.start - 8), y=middle, text_anchor="end", fill="#222"
    )
    yield _tag(
        "rect",
        tip,
        x=_c(layout.start),
        y=_c(top),
        width=_c(length),
        height=str(BAR_HEIGHT),
        fill=color,
        data_label=label,
        data_value=format_number(value),
    )
    yield _tag(
        "text", _with_unit(value, unit), x=_c(layout.start + length + 6), y=middle, fill="#222"
    )


def _bar_description(bars, unit):
    return ". ".join(f"{label}: {_reading(value, unit)}" for label, value in bars)


# The progress chart of a coaching goal.


def progress_chart(
    *, title, points, started_on, before=None, target=None, since=None, declined_on=None, unit=""
):
    """One measure over time, for a coaching goal: each observation a point at its date;
    the level before (long dashes) and the target (short dashes) across the plot; the
    plan's start (and the decline, when known) as upright lines; from the start on, the
    mean since as a solid line inside a grey band, its interval. Lines are named at the
    right and told apart by dash, never by colour alone, so the chart reads in grey.

    points: (date, value), oldest first; since: (mean, half width or None), or None.
    """
    levels = [("before", before, "7 4"), ("target", target, "2 3")]
    marks = [("start", "Plan started", started_on), ("decline", "Decline", declined_on)]
    frame = _progress_frame(points, marks, levels, since, unit)
    mean = since[0] if since is not None else None
    body = [
        *_y_grid(frame),
        *_axes(frame),
        *_since_band(frame, started_on, since, unit),
        *_level_lines(frame, levels, unit),
        *_level_names(
            frame, [(name, value) for name, value, _ in levels] + [("since", mean)], unit
        ),
        *_day_marks(frame, marks),
        *_progress_points(frame, points, unit),
        *_day_labels(frame, [day for day, _ in points]),
    ]
    if not points:
        body.append(_note((frame.left + frame.right) / 2, frame.top + PLOT_HEIGHT / 2, NO_DATA))
    description = _progress_description(points, marks, levels, since, unit)
    return _svg(title, frame.height, body, description)


@dataclass(frozen=True)
class _TimeFrame(_Frame):
    """A frame whose x runs over the days from `first` to `last`."""

    first: dt.date = dt.date.min
    last: dt.date = dt.date.max

    def day_x(self, day):
        span = (self.last - self.first).days or 1
        return self.left + (day - self.first).days / span * (self.right - self.left)


def _progress_frame(points, marks, levels, since, unit):
    """The y range covers the points, the levels and the band (a percentage's band is cut
    at 0 and 100); the x range the points' days and the marks', a little to spare."""
    values = [value for _, value in points] + [value for _, value, _ in levels]
    if since is not None:
        mean, half = since
        values += [mean] if half is None else [mean - half, mean + half]
    drawn = [number for number in map(_number, values) if number is not None]
    if unit == "%":
        drawn = [min(max(number, 0.0), 100.0) for number in drawn]
    scale = _y_scale(drawn, (None, None), 100.0 if unit == "%" else None)
    days = [day for day, _ in points] + [day for _, _, day in marks if day is not None]
    first, last = min(days), max(days)
    pad = dt.timedelta(days=max(3, (last - first).days // 25))
    overhang = _text_width("2000-01-01", 11) / 2 + 4
    left = max(12 + max(_text_width(scale.tick_text(tick)) for tick in scale.ticks), overhang)
    names = [_level_text(name, value, unit) for name, value, _ in levels] + ["since 100.0 %"]
    right = WIDTH - max(16, overhang, *(_text_width(name) + 12 for name in names))
    height = PLOT_TOP + PLOT_HEIGHT + 30
    return _TimeFrame(left, right, scale, 0, [], height, first=first - pad, last=last + pad)


def _level_text(name, value, unit):
    return f"{name} {_with_unit(value, unit)}" if _number(value) is not None else ""


def _within(frame, value):
    return min(max(value, frame.scale.low), frame.scale.high)


def _since_band(frame, started_on, since, unit):
    if since is None:
        return
    mean, half = since
    x = frame.day_x(started_on)
    if half is not None:
        top, bottom = frame.y(_within(frame, mean + half)), frame.y(_within(frame, mean - half))
        reading = f"{_with_unit(mean, unit)} ± {format_number(half)}"
        yield _tag(
            "rect",
            _tag("title", f"Since the plan started: {reading}"),
            x=_c(x),
            y=_c(top),
            width=_c(frame.right - x),
            height=_c(bottom - top),
            fill="#d9d9d9",
            data_band="since",
            data_low=format_number(mean - half),
            data_high=format_number(mean + half),
        )
    y = _c(frame.y(mean))
    yield _tag(
        "line",
        _tag("title", f"Mean since the plan started: {_with_unit(mean, unit)}"),
        x1=_c(x),
        x2=_c(frame.right),
        y1=y,
        y2=y,
        stroke="#222",
        stroke_width="2",
        data_line="since",
        data_value=format_number(mean),
    )


def _level_lines(frame, levels, unit):
    for name, value, dash in levels:
        if _number(value) is None:
            continue
        y = _c(frame.y(value))
        yield _tag(
            "line",
            _tag("title", f"{name.capitalize()}: {_with_unit(value, unit)}"),
            x1=_c(frame.left),
            x2=_c(frame.right),
            y1=y,
            y2=y,
            stroke="#444",
            stroke_width="1.5",
            stroke_dasharray=dash,
            data_line=name,
            data_value=format_number(value),
        )


def _level_names(frame, named, unit):
    """Each line's name and value at the right, nudged apart where two are close."""
    shown = sorted(
        (frame.y(value), name, value) for name, value in named if _number(value) is not None
    )
    label_ys = _spread([y for y, _, _ in shown], 13)
    for (_, name, value), label_y in zip(shown, label_ys, strict=True):
        text = _level_text(name, value, unit)
        yield _tag("text", text, x=_c(frame.right + 6), y=_c(label_y + 4), fill="#222")


def _day_marks(frame, marks):
    """Upright lines at the start (solid, named to its right) and the decline (dotted,
    named to its left), so the two names never overprint; a name that would leave the
    plot goes to the other side, a line lower."""
    for key, name, day in marks:
        if day is None:
            continue
        x, starts = frame.day_x(day), key == "start"
        yield _tag(
            "line",
            _tag("title", f"{name}: {day.isoformat()}"),
            x1=_c(x),
            x2=_c(x),
            y1=_c(frame.top),
            y2=_c(frame.bottom),
            stroke="#333",
            stroke_dasharray=None if starts else "2 3",
            data_mark=key,
            data_day=day.isoformat(),
        )
        width = _text_width(name, 11) + 4
        flipped = x + width > frame.right if starts else x - width < frame.left
        rightward = starts != flipped
        yield _tag(
            "text",
            name,
            x=_c(x + 4 if rightward else x - 4),
            y=_c(frame.top + (26 if flipped else 12)),
            text_anchor="start" if rightward else "end",
            fill="#222",
            font_size="11",
        )


def _progress_points(frame, points, unit):
    at = [(frame.day_x(day), frame.y(value)) for day, value in points]
    if len(at) > 1:
        line = " ".join(f"{_c(x)},{_c(y)}" for x, y in at)
        yield _tag("polyline", points=line, fill="none", stroke="#777", stroke_width="1.5")
    for (day, value), (x, y) in zip(points, at, strict=True):
        tip = _tag("title", f"{day.isoformat()}: {_with_unit(value, unit)}")
        yield _tag(
            "circle",
            tip,
            cx=_c(x),
            cy=_c(y),
            r="3.5",
            fill="#000",
            data_day=day.isoformat(),
            data_value=format_number(value),
        )


def _day_labels(frame, days):
    """The first and the last observation's dates under the axis (the last alone when
    the two would overprint)."""
    if not days:
        return
    shown = [days[-1]]
    apart = frame.day_x(days[-1]) - frame.day_x(days[0])
    if apart > _text_width(days[0].isoformat(), 11) + 8:
        shown.insert(0, days[0])
    for day in shown:
        yield _tag(
            "text",
            day.isoformat(),
            x=_c(frame.day_x(day)),
            y=_c(frame.bottom + 18),
            text_anchor="middle",
            fill="#333",
            font_size="11",
        )


def _progress_description(points, marks, levels, since, unit):
    said = ", ".join(f"{day.isoformat()} {_reading(value, unit)}" for day, value in points)
    lines = [f"Observations: {said}" if points else NO_DATA]
    lines += [f"{name} {day.isoformat()}" for _, name, day in marks if day is not None]
    lines += [
        f"{name.capitalize()}: {_reading(value, unit)}"
        for name, value, _ in levels
        if _number(value) is not None
    ]
    if since is not None:
        mean, half = since
        spread = "" if half is None else f" ± {format_number(half)}"
        lines.append(f"Since the plan started: {_reading(mean, unit)}{spread}")
    return ". ".join(lines)
