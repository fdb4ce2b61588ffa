"""What a coaching goal may aim at, and in which unit: plain rules over a rubric version's
definition (observations.scoring.RubricDef), tested without a database.

A goal is on one or more items or on one metric, never both:
- items: their mean score as a percentage of their range (0 to 100), so "summaries and
  reflections to 80 %" means the same on a 0-3 rating as on a yes/no indicator. Behaviour
  counts have no range and fall as well as rise with good practice, so a goal on them
  aims at a metric built on them (% complex reflections) instead;
- a metric, in its own unit: a percentage 0 to 100, a mean within its items' scale, a ratio
  from 0 up. Only metrics that rise with fidelity (banded, or a share of possible points)
  can take a target.
"""

from observations import scoring

ITEM_UNIT = "% of the items' range"


def metric_rises(metric):
    """A higher value is better practice (the rule of Metric.rises_with_fidelity)."""
    return bool(metric.thresholds) or metric.kind == scoring.PERCENT_OF_POSSIBLE


def metric_range(definition, metric):
    """(lowest, highest) a metric's value can take; highest None when it has no top."""
    if metric.kind in (scoring.PERCENT, scoring.PERCENT_OF_POSSIBLE):
        return 0.0, 100.0
    if metric.kind == scoring.MEAN:
        items = [i for i in definition.items if i.code in metric.numerator]
        if items:
            return float(min(i.scale_min for i in items)), float(max(i.scale_max for i in items))
    return 0.0, None


def target_range(definition, item_codes, metric_code):
    """(lowest, highest, unit) a goal's target must lie in; highest may be None."""
    if metric_code:
        metric = next(m for m in definition.metrics if m.code == metric_code)
        low, high = metric_range(definition, metric)
        return low, high, "%" if high == 100.0 and low == 0.0 else ""
    return 0.0, 100.0, ITEM_UNIT


def aimable_items(definition):
    """The items a goal may name: ratings and present/absent indicators."""
    return [item for item in definition.items if item.kind != scoring.COUNT]


def aimable_metrics(definition):
    return [metric for metric in definition.metrics if metric_rises(metric)]


def problems(definition, item_codes, metric_code, target):
    """{field: what to fix} for a goal on this definition; empty when it is sound."""
    found = {}
    if item_codes and metric_code:
        found["metric_code"] = "Aim at items or at a metric, not both: clear one of them."
    elif not item_codes and not metric_code:
        found["item_codes"] = "Choose at least one item, or a metric, for the goal to aim at."
    found.update(_item_problems(definition, item_codes))
    found.update(_metric_problems(definition, metric_code))
    if not found and target is not None:
        found.update(_target_problems(definition, item_codes, metric_code, target))
    return found


def _item_problems(definition, item_codes):
    known = {item.code: item for item in definition.items}
    unknown = [code for code in item_codes if code not in known]
    if unknown:
        return {"item_codes": f"Not on this rubric's current version: {', '.join(unknown)}."}
    counts = [known[code].label for code in item_codes if known[code].kind == scoring.COUNT]
    if counts:
        return {
            "item_codes": f"{', '.join(counts)}: a behaviour count has no range to aim at; "
            "choose a metric built on it instead (such as % complex reflections)."
        }
    return {}


def _metric_problems(definition, metric_code):
    if not metric_code:
        return {}
    metric = next((m for m in definition.metrics if m.code == metric_code), None)
    if metric is None:
        return {"metric_code": f"Not on this rubric's current version: {metric_code}."}
    if not metric_rises(metric):
        return {
            "metric_code": f"{metric.label} has no direction a target could aim at (more is "
            "not always better); choose a banded metric or items."
        }
    return {}


def _target_problems(definition, item_codes, metric_code, target):
    low, high, unit = target_range(definition, item_codes, metric_code)
    if target < low or (high is not None and target > high):
        top = f"{high:g}" if high is not None else "up"
        return {"target": f"The target must lie from {low:g} to {top} ({unit or 'its unit'})."}
    return {}


# Proposals: the goals a plan started from an alert or an observation begins with ----------


def percent_of_range(item, score):
    """An item's score as a percentage of its range (0 to 100)."""
    span = item.scale_max - item.scale_min
    return 100.0 * (score - item.scale_min) / span if span else 100.0


def from_moved(moved, definition, *, metric_prefix):
    """Goals proposed from an alert's items that fell most (`moved`: {code, label,
    baseline, current}, a metric's code behind `metric_prefix`): each aims back at its
    level before the decline. Items or metrics the current version no longer has, or
    that take no target, are left out."""
    items = {item.code: item for item in aimable_items(definition)}
    metrics = {metric.code for metric in aimable_metrics(definition)}
    proposed = []
    for entry in moved:
        code = entry["code"]
        if code.startswith(metric_prefix) and code[len(metric_prefix) :] in metrics:
            target = round(float(entry["baseline"]), 1)
            proposed.append(_proposal(entry["label"], [], code[len(metric_prefix) :], target))
        elif code in items:
            target = round(percent_of_range(items[code], entry["baseline"]))
            proposed.append(_proposal(entry["label"], [code], "", target))
    return proposed


def from_growth_areas(codes, scores, definition):
    """Goals proposed from the items an observation's growth areas named: each aims one
    level above the score it had (the top of the range when it had none)."""
    items = {item.code: item for item in aimable_items(definition)}
    proposed = []
    for code in codes:
        item = items.get(code)
        if item is None:
            continue
        score = scores.get(code)
        step = score + 1 if isinstance(score, int) else item.scale_max
        target = round(percent_of_range(item, min(step, item.scale_max)))
        proposed.append(_proposal(item.label, [code], "", target))
    return proposed


def _proposal(label, item_codes, metric_code, target):
    return {
        "description": label[:200],
        "item_codes": item_codes,
        "metric_code": metric_code,
        "target": target,
    }
