"""The practitioner view: where they stand, how their scores move, and what they were told."""

from certification.progress import person_cards
from coaching.models import CoachAssignment, CoachingPlan, CoachingSession
from miiwrap import charts
from miiwrap.dashboards.tables import Table
from observations.models import Observation, RubricVersion

# Observations listed with their feedback; the observations page has the rest.
FEEDBACK_SHOWN = 10
# Coaching sessions listed, newest first; the plan page has those under it.
SESSIONS_SHOWN = 10
# Scores a trend draws: the latest, so a long career still reads.
TREND_POINTS = 24


def build(person, viewer_person):
    return {
        "certifications": person_cards(person, viewer_person),
        "trends": trends(person),
        "recent": recent(person, viewer_person),
        "coaching": coaching(person, viewer_person),
    }


def coaching(person, viewer_person):
    """Their active plan, their latest sessions (under a plan or on their own), and
    whether the viewer is the coach who logs and corrects them."""
    sessions = CoachingSession.objects.filter(practitioner=person)
    may_log = viewer_person is not None and CoachAssignment.objects.coaches_now(
        viewer_person.pk, person.pk
    )
    return {
        "plan": CoachingPlan.objects.active().filter(practitioner=person).first(),
        "sessions": list(sessions.select_related("coach", "plan")[:SESSIONS_SHOWN]),
        "may_log": may_log and viewer_person.pk != person.pk,
    }


def trends(person):
    """[(rubric name, chart, table)]: each rubric's overall score, observation by
    observation, with its bands' thresholds."""
    found = {}
    for rubric_id, name, day, score, band in Observation.objects.scores_of(person):
        found.setdefault((rubric_id, name), []).append((day, score, band))
    thresholds = RubricVersion.objects.overall_thresholds([key[0] for key in found])
    made = []
    for (rubric_id, name), points in found.items():
        points = points[-TREND_POINTS:]
        labels = [f"{day:%Y-%m-%d}" for day, _, _ in points]
        chart = charts.line_chart(
            title=f"{name}: overall score by observation",
            labels=labels,
            series=[("Overall score", [score for _, score, _ in points])],
            thresholds=thresholds.get(rubric_id, []),
            low=0,
            high=100,
            unit="%",
        )
        table = Table(
            f"trend-{rubric_id}",
            f"{name}: overall score of the latest {TREND_POINTS} observations at most",
            ["Observed on", "Overall score (%)", "Band"],
            [[day, score, band] for day, score, band in points],
        )
        made.append((name, chart, table))
    return made


def recent(person, viewer_person):
    seen = Observation.objects.submitted().filter(practitioner=person).for_list()
    return list(seen.order_by("-observed_on", "-pk")[:FEEDBACK_SHOWN])
