"""The demo world comes with what the nightly drift job would have found."""

from coaching.models import DriftAlert, Momentum


def test_the_demo_has_drift_alerts_about_practitioners(demo_output):
    assert "drift alerts" in demo_output
    # Active, not necessarily open: the demo's coaching plans address them.
    assert DriftAlert.objects.filter(scope="person", status__in=DriftAlert.ACTIVE).exists()


def test_the_demo_has_every_kind_of_momentum(demo_output):
    directions = set(Momentum.objects.values_list("direction", flat=True))
    assert directions == {"building", "steady", "slipping"}


def test_alerts_of_the_demo_are_in_coaches_and_leaders_notifications(demo_output):
    from miiwrap.notifications.models import Notification

    told = Notification.objects.filter(kind="alert")
    assert told.filter(delivery="email").exists()
    assert told.filter(delivery="digest").exists()
