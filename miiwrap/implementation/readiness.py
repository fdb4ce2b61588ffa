"""What a readiness assessment says, read from its scores: domain scores, the weakest
items and domains, and the change since the previous assessment, item by item.

Plain functions over a rubric definition (observations.scoring.RubricDef) and scores, so
they are tested without a database. Every number is observations.scoring's: a domain's
score is its mean metric, the overall score the instrument's overall metric.
"""

from dataclasses import dataclass

from observations import scoring

UP, DOWN, SAME, NEW, UNSCORED = "up", "down", "same", "new", "unscored"


@dataclass(frozen=True)
class DomainScore:
    code: str
    label: str
    value: float | None


@dataclass(frozen=True)
class ItemChange:
    code: str
    label: str
    domain: str
    before: object
    after: object
    before_note: str
    after_note: str

    @property
    def direction(self):
        """up / down / same; new when the previous assessment did not score it, unscored
        when this one does not."""
        if not isinstance(self.after, int):
            return UNSCORED
        if not isinstance(self.before, int):
            return NEW
        if self.after == self.before:
            return SAME
        return UP if self.after > self.before else DOWN


def domain_scores(definition, scores):
    """[DomainScore] of each metric that is not the overall one, in the instrument's order:
    on the shipped instrument, the mean rating of each domain's items."""
    result = scoring.compute(definition, scores)
    return [
        DomainScore(metric.code, metric.label, result.metric(metric.code).value)
        for metric in definition.metrics
        if not metric.is_overall
    ]


def weakest_domains(definition, scores, count=2):
    """The `count` domains with the lowest score (ties: the instrument's order)."""
    scored = [d for d in domain_scores(definition, scores) if d.value is not None]
    return sorted(scored, key=lambda d: d.value)[:count]


def weakest_items(definition, scores, count=5):
    """The `count` lowest-rated items below their top rating, lowest first (ties: the
    instrument's order): what an alignment plan starts from."""
    rated = [
        (scores[item.code], index, item)
        for index, item in enumerate(definition.items)
        if isinstance(scores.get(item.code), int) and scores[item.code] < (item.possible() or 0)
    ]
    return [item for _score, _index, item in sorted(rated, key=lambda r: (r[0], r[1]))[:count]]


def changes(definition, before, after):
    """[ItemChange] for every item of the instrument, in its order. `before` and `after`
    are (scores, notes) of the previous and this assessment; `before` may be None."""
    before_scores, before_notes = before or ({}, {})
    after_scores, after_notes = after
    return [
        ItemChange(
            code=item.code,
            label=item.label,
            domain=item.domain,
            before=before_scores.get(item.code),
            after=after_scores.get(item.code),
            before_note=before_notes.get(item.code, ""),
            after_note=after_notes.get(item.code, ""),
        )
        for item in definition.items
    ]


def tally(item_changes):
    """{direction: how many items moved that way}."""
    found = {UP: 0, DOWN: 0, SAME: 0, NEW: 0, UNSCORED: 0}
    for change in item_changes:
        found[change.direction] += 1
    return found
