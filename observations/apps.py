from django.apps import AppConfig

UNKNOWN = object()


class ObservationsConfig(AppConfig):
    name = "observations"

    def ready(self):
        from django.db.models.signals import post_delete, post_init, post_save, pre_save

        from miiwrap.people.models import Person
        from observations import summaries
        from observations.models import Observation

        post_init.connect(remember_organization, sender=Person, dispatch_uid="observations.org")
        post_save.connect(follow_move, sender=Person, dispatch_uid="observations.org")
        # Every saved or deleted observation keeps the summaries up to date.
        uid = "observations.summaries"
        pre_save.connect(summaries.before_save, sender=Observation, dispatch_uid=uid)
        post_save.connect(summaries.after_save, sender=Observation, dispatch_uid=uid)
        post_delete.connect(summaries.after_delete, sender=Observation, dispatch_uid=uid)


def remember_organization(sender, instance, **kwargs):
    """Note the organization a person was loaded with, to tell a move on save (read from
    the instance's dict: a deferred field must not cost a query per row loaded)."""
    instance._observations_organization = instance.__dict__.get("organization_id", UNKNOWN)


def follow_move(sender, instance, created=False, raw=False, **kwargs):
    """A person who changed organization takes their observations along (see
    Observation.organization); both organizations' dashboards go stale."""
    from miiwrap import generations
    from observations.models import restamp_moved

    before = getattr(instance, "_observations_organization", UNKNOWN)
    instance._observations_organization = instance.organization_id
    if created or raw or before == instance.organization_id:
        return
    if restamp_moved(instance.pk, instance.organization_id):
        known = () if before is UNKNOWN else (before,)
        generations.touched(*known, instance.organization_id)
