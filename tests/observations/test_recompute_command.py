"""`manage.py recompute_scores [--rubric CODE] [--version N]`: fix stored scores, count changes."""

import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from observations.models import Metric, Observation
from tests.factories import full_scores, make_observation, rubric_version


def run(*args):
    out = io.StringIO()
    call_command("recompute_scores", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def stale(world):
    """One observation on each shipped rubric, then the fidelity tool's band edges moved."""
    fidelity = make_observation(
        world.coach, world.practitioner, scores=full_scores(rubric_version(), rating=2)
    )
    mi = rubric_version("mi-coding")
    coding = make_observation(world.coach, world.practitioner, mi, scores=full_scores(mi, 4))
    Metric.objects.filter(version__rubric__code="miiwrap-fidelity", code="fidelity").update(
        thresholds=[{"band": "high", "minimum": 60}]
    )
    Observation.objects.filter(pk=coding.pk).update(band="stale")
    return fidelity, coding


def test_every_submitted_observation_is_recomputed(stale):
    fidelity, coding = stale
    assert fidelity.band == "borderline"
    assert run() == "Recomputed 2 submitted observations: 2 changed.\n"
    fidelity.refresh_from_db()
    coding.refresh_from_db()
    assert (fidelity.band, fidelity.overall_score) == ("high", Decimal("69.77"))
    assert coding.band == "good"


def test_a_second_run_changes_nothing(stale):
    run()
    assert run() == "Recomputed 2 submitted observations: 0 changed.\n"


def test_only_the_named_rubric(stale):
    fidelity, coding = stale
    assert run("--rubric", "mi-coding") == "Recomputed 1 submitted observation: 1 changed.\n"
    fidelity.refresh_from_db()
    coding.refresh_from_db()
    assert (fidelity.band, coding.band) == ("borderline", "good")


def test_only_the_named_version(stale):
    out = run("--rubric", "miiwrap-fidelity", "--version", "1")
    assert out == "Recomputed 1 submitted observation: 1 changed.\n"
    assert Observation.objects.get(pk=stale[1].pk).band == "stale"


def test_drafts_are_left_alone(world):
    draft = make_observation(world.coach, world.practitioner, submit=False, scores={})
    Observation.objects.filter(pk=draft.pk).update(band="whatever")
    assert run() == "Recomputed 0 submitted observations: 0 changed.\n"
    assert Observation.objects.get(pk=draft.pk).band == "whatever"


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--rubric", "miti"],
            "No rubric has the code “miti”; the codes are coaching-feedback, mi-coding, "
            "miiwrap-fidelity.",
        ),
        (["--rubric", "mi-coding", "--version", "4"], "MI coding rubric has no version 4."),
        (["--version", "1"], "--version needs --rubric: version numbers belong to a rubric."),
    ],
)
def test_bad_arguments_say_what_to_fix(db, args, message):
    with pytest.raises(CommandError) as refused:
        run(*args)
    assert str(refused.value) == message


def test_the_old_scores_and_band_stay_in_the_history_with_who_ran_it(stale, world):
    fidelity, _ = stale
    run("--by", world.purveyor_admin.email)
    new, old = fidelity.history.order_by("-history_date", "-history_id")[:2]
    assert (old.band, old.overall_score) == ("borderline", Decimal("69.77"))
    assert (new.band, new.history_change_reason) == ("high", "Recomputed after a scoring fix")
    assert new.history_user == world.purveyor_admin.user


def test_without_by_the_history_names_nobody(stale):
    run()
    assert stale[0].history.latest().history_user is None


def test_by_names_an_active_login(db):
    with pytest.raises(CommandError) as refused:
        run("--by", "nobody@example.org")
    assert str(refused.value) == "No active login has the email or username “nobody@example.org”."


def test_the_observation_page_shows_the_recomputed_band_change(stale, world, login):
    fidelity, _ = stale
    run()
    page = login(world.practitioner).get(fidelity.get_absolute_url()).content.decode()
    history = page[page.index('id="history"') :]
    assert "Recomputed after a scoring fix" in history
    assert "<del>borderline</del> → <ins>high</ins>" in history
