"""Rubric versions to and from JSON, so a purveyor can move one between installations.

The same format ships the two built-in rubrics (observations/rubrics/*.json), which a
migration loads; `load_version` therefore takes the model classes to use, historical
ones in a migration and the real ones elsewhere.
"""

import json
import math
import re
from numbers import Number
from pathlib import Path

from django.core.exceptions import ValidationError
from django.utils import timezone

from miiwrap import generations, text
from observations import scoring

FORMAT = "miiwrap-rubric/1"
# Whom a rubric observes (Rubric.audience); the first is the default.
AUDIENCES = ["practitioner", "coach", "organization"]
SHIPPED = Path(__file__).resolve().parent / "rubrics"
ITEM_KINDS = {scoring.RATING, scoring.COUNT, scoring.YES_NO}
METRIC_KINDS = {
    scoring.MEAN,
    scoring.SUM,
    scoring.RATIO,
    scoring.PERCENT,
    scoring.PERCENT_OF_POSSIBLE,
}


ITEM_FIELDS = {
    "code",
    "label",
    "guidance",
    "kind",
    "scale_min",
    "scale_max",
    "allows_na",
    "required",
}
METRIC_FIELDS = {"code", "label", "kind", "numerator", "denominator", "thresholds", "is_overall"}
STATUSES = {"draft", "published", "retired"}
CODE = re.compile(r"[-a-zA-Z0-9_]{1,40}")


class RubricFormatError(ValueError):
    """The file is not a rubric this app can load; the message says what to fix."""


def shipped_rubrics():
    return [json.loads(path.read_text()) for path in sorted(SHIPPED.glob("*.json"))]


def dump_version(version):
    """A rubric version as a JSON-ready dict. The audience is written only when it is not
    the default (practitioners), so documents written before it existed read the same."""
    rubric = {
        "code": version.rubric.code,
        "name": version.rubric.name,
        "description": version.rubric.description,
    }
    if version.rubric.audience != AUDIENCES[0]:
        rubric["audience"] = version.rubric.audience
    return {
        "format": FORMAT,
        "rubric": rubric,
        "version": {
            "number": version.number,
            "status": version.status,
            "bands": list(version.bands),
            "notes": version.notes,
        },
        "domains": [{"code": d.code, "name": d.name} for d in version.domains.all()],
        "items": [_dump_item(item) for item in version.items.all()],
        "metrics": [_dump_metric(metric) for metric in version.metrics.all()],
    }


def _dump_item(item):
    fields = ["code", "label", "guidance", "kind", "scale_min", "scale_max"]
    data = {name: getattr(item, name) for name in fields}
    data.update(
        allows_na=item.allows_na,
        required=item.required,
        position=item.position,
        domain=item.domain.code if item.domain_id else "",
        levels=[
            {"value": lv.value, "label": lv.label, "descriptor": lv.descriptor}
            for lv in item.levels.all()
        ],
    )
    return data


def _dump_metric(metric):
    fields = ["code", "label", "kind", "numerator", "denominator", "thresholds", "is_overall"]
    return {name: getattr(metric, name) for name in fields}


def check(data):
    """Raise RubricFormatError naming the first problem in a rubric document."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise RubricFormatError(f"This is not a rubric file: expected format “{FORMAT}”.")
    for key in ("rubric", "version", "items", "metrics"):
        if key not in data:
            raise RubricFormatError(f"The file has no “{key}” section.")
    _check_shape(data)
    _check_text(data)
    items = data["items"]
    codes = [item.get("code") for item in items]
    if len(set(codes)) != len(codes):
        raise RubricFormatError("Two items share a code.")
    domains = {d.get("code") for d in data.get("domains", [])}
    for item in items:
        _check_item(item, domains)
    bands = data["version"].get("bands", [])
    for metric in data["metrics"]:
        _check_metric(metric, set(codes), bands)
    if sum(bool(m.get("is_overall")) for m in data["metrics"]) > 1:
        raise RubricFormatError("Only one metric can be the overall score.")


def _check_shape(data):
    """The sections hold what load_version reads, of the right types."""
    rubric, head = data["rubric"], data["version"]
    if not isinstance(rubric, dict) or not _is_code(rubric.get("code")):
        raise RubricFormatError("The rubric needs a code: letters, digits, - or _, up to 40.")
    if not isinstance(rubric.get("name"), str) or not rubric["name"].strip():
        raise RubricFormatError("The rubric needs a name.")
    if rubric.get("audience", AUDIENCES[0]) not in AUDIENCES:
        raise RubricFormatError(f"The rubric's audience must be one of {AUDIENCES}.")
    if not isinstance(head, dict) or not _is_whole(head.get("number")) or head["number"] < 1:
        raise RubricFormatError("The version needs a number: a whole number from 1.")
    if head.get("status", "draft") not in STATUSES:
        raise RubricFormatError(f"The version's status must be one of {sorted(STATUSES)}.")
    if not _list_of(head.get("bands", []), str):
        raise RubricFormatError("The version's bands must be a list of names.")
    for key in ("domains", "items", "metrics"):
        if not _list_of(data.get(key, []), dict):
            raise RubricFormatError(f"“{key}” must be a list of objects.")
    for domain in data.get("domains", []):
        if not _is_code(domain.get("code")) or not isinstance(domain.get("name"), str):
            raise RubricFormatError("Every domain needs a code and a name.")
    for item in data["items"]:
        _check_item_shape(item)
    for metric in data["metrics"]:
        _check_metric_shape(metric)


def _check_text(data):
    """Names and labels on one line; descriptions, guidance and descriptors free of other
    control characters and within their limit: what the admin's forms accept."""
    rubric, head = data["rubric"], data["version"]
    lines = [("The rubric's name", rubric["name"])]
    lines += [(f"Domain {d['code']}", d["name"]) for d in data.get("domains", [])]
    lines += [(f"Metric {m['code']}", m["label"]) for m in data["metrics"]]
    prose = [
        ("The rubric's description", rubric.get("description")),
        ("The notes", head.get("notes")),
    ]
    for item in data["items"]:
        code = item["code"]
        lines.append((f"Item {code}", item.get("label", "")))
        prose.append((f"Item {code}'s guidance", item.get("guidance")))
        for level in item.get("levels", []):
            lines.append((f"Item {code}, level {level['value']}", level["label"]))
            prose.append((f"Item {code}, level {level['value']}", level.get("descriptor")))
    for where, value in lines:
        _checked(where, value, text.validate_one_line)
    for where, value in prose:
        _checked(where, value or "", text.validate_prose)
        if len(str(value or "")) > text.DOCUMENT:
            raise RubricFormatError(f"{where}: keep it to {text.DOCUMENT:,} characters.")


def _checked(where, value, validate):
    try:
        validate(value)
    except ValidationError as error:
        raise RubricFormatError(f"{where}: {error.messages[0]}") from error


def _check_item_shape(item):
    if not _is_code(item.get("code")):
        raise RubricFormatError("Every item needs a code: letters, digits, - or _, up to 40.")
    code = item["code"]
    for key in ("scale_min", "scale_max", "position"):
        if key in item and not _is_whole(item[key]):
            raise RubricFormatError(f"Item {code}: {key} must be a whole number.")
    levels = item.get("levels", [])
    if not _list_of(levels, dict) or not all(
        _is_whole(level.get("value")) and isinstance(level.get("label"), str) for level in levels
    ):
        raise RubricFormatError(f"Item {code}: every level needs a whole-number value and a label.")
    if not set().union(*levels) <= {"value", "label", "descriptor"}:
        raise RubricFormatError(f"Item {code}: a level has only a value, a label and a descriptor.")


def _check_metric_shape(metric):
    if not _is_code(metric.get("code")) or not isinstance(metric.get("label"), str):
        raise RubricFormatError("Every metric needs a code and a label.")
    code = metric["code"]
    for key in ("numerator", "denominator"):
        if not _list_of(metric.get(key, []), str):
            raise RubricFormatError(f"Metric {code}: {key} must be a list of item codes.")
    thresholds = metric.get("thresholds", [])
    if not _list_of(thresholds, dict) or not all(
        isinstance(t.get("minimum"), Number)
        and not isinstance(t["minimum"], bool)
        and math.isfinite(t["minimum"])
        for t in thresholds
    ):
        raise RubricFormatError(
            f"Metric {code}: every threshold needs a band and a number minimum."
        )


def _is_code(value):
    return isinstance(value, str) and CODE.fullmatch(value) is not None


def _is_whole(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _list_of(value, kind):
    return isinstance(value, list) and all(isinstance(entry, kind) for entry in value)


def _check_item(item, domains):
    code = item.get("code") or "?"
    if not item.get("code") or not item.get("label"):
        raise RubricFormatError(f"Item {code}: every item needs a code and a label.")
    if item.get("kind") not in ITEM_KINDS:
        raise RubricFormatError(f"Item {code}: kind must be one of {sorted(ITEM_KINDS)}.")
    if item.get("domain") and item["domain"] not in domains:
        raise RubricFormatError(f"Item {code}: no domain “{item['domain']}”.")
    if item["kind"] == scoring.RATING and item.get("scale_min", 0) > item.get("scale_max", 1):
        raise RubricFormatError(f"Item {code}: scale_min is above scale_max.")


def _check_metric(metric, codes, bands):
    code = metric.get("code") or "?"
    if metric.get("kind") not in METRIC_KINDS:
        raise RubricFormatError(f"Metric {code}: kind must be one of {sorted(METRIC_KINDS)}.")
    used = [*metric.get("numerator", []), *metric.get("denominator", [])]
    unknown = sorted(set(used) - codes)
    if unknown:
        raise RubricFormatError(f"Metric {code}: no such item {', '.join(unknown)}.")
    for threshold in metric.get("thresholds", []):
        if threshold.get("band") not in bands:
            raise RubricFormatError(f"Metric {code}: band “{threshold.get('band')}” is unknown.")


def load_version(data, models):
    """Create the rubric (if new) and this version from a checked document; returns it."""
    check(data)
    rubric, _ = models.Rubric.objects.get_or_create(
        code=data["rubric"]["code"],
        defaults={
            "name": data["rubric"]["name"],
            "description": data["rubric"].get("description", ""),
            # Only when given: the migration that loads the shipped rubrics predates it.
            **({"audience": data["rubric"]["audience"]} if "audience" in data["rubric"] else {}),
        },
    )
    head = data["version"]
    if models.RubricVersion.objects.filter(rubric=rubric, number=head["number"]).exists():
        raise RubricFormatError(f"{rubric.name} already has a version {head['number']}.")
    status = head.get("status", "draft")
    version = models.RubricVersion.objects.create(
        rubric=rubric,
        number=head["number"],
        status=status,
        published_at=timezone.now() if status != "draft" else None,
        bands=head.get("bands", []),
        notes=head.get("notes", ""),
    )
    _load_structure(version, data, models)
    return version


def _load_structure(version, data, models):
    domains = {
        d["code"]: models.Domain.objects.create(
            version=version, code=d["code"], name=d["name"], position=index
        )
        for index, d in enumerate(data.get("domains", []))
    }
    for index, raw in enumerate(data["items"]):
        fields = {k: v for k, v in raw.items() if k in ITEM_FIELDS}
        item = models.Item.objects.create(
            version=version,
            domain=domains.get(raw.get("domain")),
            position=raw.get("position", index),
            **fields,
        )
        levels = raw.get("levels", [])
        models.Level.objects.bulk_create(models.Level(item=item, **lv) for lv in levels)
        generations.touched(everyone=True)
    for index, raw in enumerate(data["metrics"]):
        fields = {k: v for k, v in raw.items() if k in METRIC_FIELDS}
        models.Metric.objects.create(version=version, position=index, **fields)
