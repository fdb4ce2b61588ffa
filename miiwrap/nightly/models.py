"""A night's run of a job fanned out over the organizations, tracked in the database.

Celery keeps no results here (CELERY_TASK_IGNORE_RESULT), and the embedded broker has no
result backend: so each job's night is a row, and each organization's part done is a row
keyed (run, organization). A part sent twice counts once; the part that completes the
count moves the run on, once, by a conditional UPDATE of its state.
"""

from django.db import models


class NightlyRun(models.Model):
    class Job(models.TextChoices):
        DRIFT = "drift", "Drift job"
        CERTIFICATION = "certification", "Certification job"

    class State(models.TextChoices):
        RUNNING = "running", "Organizations running"
        CLOSING = "closing", "Closing step queued"
        DONE = "done", "Done"

    job = models.CharField(max_length=20, choices=Job.choices)
    date = models.DateField()
    # A replay (tests, a night run again by hand): `date` and `started_at` stand for every
    # organization's own today and clock.
    replay = models.BooleanField(default=False)
    expected = models.PositiveIntegerField()
    done = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=10, choices=State.choices, default=State.RUNNING)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    # What the system-wide first step worked out for every organization's part.
    inputs = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "date"], name="one_run_per_night")]
        ordering = ["-date", "job"]

    def __str__(self):
        return f"{self.get_job_display()} of {self.date}: {self.done}/{self.expected}, {self.state}"


class NightlyPart(models.Model):
    """One organization's part of a run, done. The organization by id only: one removed
    while its run was under way still counts as done."""

    run = models.ForeignKey(NightlyRun, on_delete=models.CASCADE, related_name="parts")
    organization_id = models.PositiveBigIntegerField()
    finished_at = models.DateTimeField()
    worker = models.CharField(max_length=200, blank=True, help_text="The worker that did it.")
    # A part that failed for good (an error other than the database's, or the database's
    # after its last retry) is counted done with what went wrong, so that one
    # organization's bad row does not hold back every other organization's next step.
    error = models.TextField(blank=True, help_text="Why the part failed, if it did.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "organization_id"], name="one_part_each")
        ]

    def __str__(self):
        return f"Organization {self.organization_id} of {self.run}"
