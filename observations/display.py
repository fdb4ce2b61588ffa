"""What the observation pages show: scores as words, metrics as rows, bands as colours.

Plain functions over a rubric version and its scores, shared by the form's live summary
and the detail page, so both show a value the same way. No arithmetic happens here:
every number comes from scoring.compute or from what submit stored.
"""

import re
from types import SimpleNamespace

from observations import scoring
from observations.forms import ITEM_PREFIX

UNDEFINED = "—"
PERCENT_KINDS = {scoring.PERCENT, scoring.PERCENT_OF_POSSIBLE}
WHOLE_NUMBER = re.compile(r"-?[0-9]{1,7}")


def format_value(kind, value):
    """A metric value as shown: "88.24 %", "3.5", or "—" when undefined."""
    if value is None:
        return UNDEFINED
    text = f"{float(value):.2f}".rstrip("0").rstrip(".")
    return f"{text} %" if kind in PERCENT_KINDS else text


def band_class(bands, band):
    """Bootstrap badge colours by rank: best green, worst red, next to worst amber."""
    if not band or band not in bands:
        return "text-bg-secondary"
    rank, last = list(bands).index(band), len(bands) - 1
    if rank == 0:
        return "text-bg-success"
    if rank == last:
        return "text-bg-danger"
    return "text-bg-warning" if rank == last - 1 else "text-bg-primary"


def summary(definition, metrics, overall, band):
    """The summary panel: the overall score and band, then one row per other metric.

    `metrics` is {code: {"value", "band", "met"}}, as ScoreResult.as_json() gives and
    Observation.metrics stores; `overall` and `band` are the observation's own.
    """
    head = next((m for m in definition.metrics if m.is_overall), None)
    if head is None:
        # No overall score (the MI coding rubric): the band is the worst metric's band.
        overall_row = _metric_row(definition, scoring.MetricDef("", "Overall band", ""), {})
        overall_row.value = ""
    else:
        stored = metrics.get(head.code) or {"value": overall}
        overall_row = _metric_row(definition, head, {**stored, "band": band})
    overall_row.band, overall_row.band_class = band or "", band_class(definition.bands, band)
    return SimpleNamespace(
        overall=overall_row,
        rows=[
            _metric_row(definition, metric, metrics.get(metric.code) or {})
            for metric in definition.metrics
            if not metric.is_overall
        ],
    )


def _metric_row(definition, metric, stored):
    met = set(stored.get("met") or ())
    return SimpleNamespace(
        code=metric.code,
        label=metric.label,
        value=format_value(metric.kind, stored.get("value")),
        band=stored.get("band") or "",
        band_class=band_class(definition.bands, stored.get("band")),
        thresholds=[
            SimpleNamespace(
                band=t.band, minimum=format_value(metric.kind, t.minimum), met=t.band in met
            )
            for t in metric.thresholds
        ],
    )


def preview_summary(definition, data):
    """The summary for a form's current values; anything that cannot be read is left out.
    It says how many items are answered, since every score is of those alone: five items
    at their best read "100 %" with twelve still to score."""
    scores = preview_scores(definition, data)
    result = scoring.compute(definition, scores)
    shown = summary(definition, result.as_json(), result.overall, result.band)
    shown.progress = answered(definition, scores)
    return shown


def answered(definition, scores):
    """How many of the version's items have an answer, and how many of those are N/A."""
    given = [code for code in scores if definition.item(code)]
    not_applicable = sum(1 for code in given if scores[code] == scoring.NA)
    return SimpleNamespace(
        answered=len(given),
        total=len(definition.items),
        not_applicable=not_applicable,
        complete=len(given) == len(definition.items),
    )


def preview_scores(definition, data):
    """Item scores from raw form data, keeping only values that are valid for their item."""
    scores = {}
    for item in definition.items:
        raw = str(data.get(ITEM_PREFIX + item.code, "")).strip()
        if raw == scoring.NA:
            scores[item.code] = raw
        elif WHOLE_NUMBER.fullmatch(raw):
            scores[item.code] = int(raw)
    # Left out, as the form refuses them: values wrong for their item, absurd counts too.
    wrong = scoring.problems(definition, scores, complete=False)
    return {code: value for code, value in scores.items() if code not in wrong}


def scored_domains(version, scores):
    """[(domain name, [row])] with each item's score in words, for the detail page."""
    groups = {}
    for item in sorted(version.items.all(), key=lambda i: (i.position, i.pk)):
        domain = item.domain.name if item.domain_id else "Items"
        groups.setdefault(domain, []).append(_scored_item(item, scores.get(item.code)))
    return list(groups.items())


def _scored_item(item, value):
    row = SimpleNamespace(item=item, answer="Not scored", descriptor="", scored=value is not None)
    if value == scoring.NA:
        row.answer = "Not applicable"
    elif item.kind == scoring.YES_NO and value is not None:
        row.answer = "Yes" if value == 1 else "No"
    elif item.kind == scoring.RATING and value is not None:
        level = next((lv for lv in item.levels.all() if lv.value == value), None)
        row.answer = f"{value} · {level.label}" if level else str(value)
        row.descriptor = level.descriptor if level else ""
    elif value is not None:
        row.answer = str(value)
    return row


def feedback(observation, definition):
    """(heading, text, [item labels]) for each kind of feedback that was given."""
    blocks = []
    for heading, text, codes in observation.feedback():
        labels = [definition.item(code).label for code in codes if definition.item(code)]
        if text or labels:
            blocks.append(SimpleNamespace(heading=heading, text=text, items=labels))
    return blocks


def item_groups(form):
    """The form's items by domain, each radio paired with its level's descriptor."""
    groups = []
    for domain, pairs in form.item_fields():
        rows = [
            SimpleNamespace(item=item, field=field, options=_options(item, field))
            for item, field in pairs
        ]
        groups.append(SimpleNamespace(name=domain, slug=f"domain-{len(groups)}", rows=rows))
    return groups


def _options(item, field):
    if item.kind == scoring.COUNT:
        return []
    levels = {str(level.value): level for level in item.levels.all()}
    options = []
    for radio in field.subwidgets:
        value = str(radio.data["value"])
        level = levels.get(value)
        options.append(
            SimpleNamespace(
                radio=radio,
                value=value,
                title=f"{value} · {level.label}" if level else radio.choice_label,
                descriptor=level.descriptor if level else "",
                is_na=value == scoring.NA,
            )
        )
    return options


def amendments(observation, definition):
    """The observation's amendments, newest first, each with the overall and band it replaced."""
    overall_kind = next((m.kind for m in definition.metrics if m.is_overall), None)
    rows = []
    for amendment in observation.amendments.select_related("amended_by"):
        previous = amendment.previous or {}
        rows.append(
            SimpleNamespace(
                amendment=amendment,
                overall=format_value(overall_kind, previous.get("overall_score")),
                band=previous.get("band") or "",
                band_class=band_class(definition.bands, previous.get("band")),
            )
        )
    return rows


def earlier_responses(records, current):
    """The practitioner's replies that a later one replaced, oldest first, each with
    when it was written: (text, history row). `records`: the observation's history."""
    records = sorted(records, key=lambda r: (r.history_date, r.history_id))
    replies = []
    for record in records:
        if record.response and (not replies or replies[-1][0] != record.response):
            replies.append((record.response, record))
    return [(text, record) for text, record in replies if text != current]


def calibration_rows(version, rationale, master, comparison=None):
    """[(domain name, [row])]: each item's master score in words and its rationale, and,
    given a coach's `comparison` (observations.calibration), their score beside it."""
    compared = {row.item.code: row for row in comparison.items} if comparison else {}
    groups = {}
    for item in sorted(version.items.all(), key=lambda i: (i.position, i.pk)):
        row = SimpleNamespace(
            item=item,
            master=_scored_item(item, master.get(item.code)),
            why=rationale.get(item.code, ""),
            compared=compared.get(item.code),
        )
        if row.compared is not None:
            row.mine = _scored_item(item, row.compared.mine)
        domain = item.domain.name if item.domain_id else "Items"
        groups.setdefault(domain, []).append(row)
    return list(groups.items())
