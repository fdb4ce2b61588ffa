from django.contrib import admin

from miiwrap.admin import PurveyorOnlyAdmin, ReadOnlyAdmin
from miiwrap.nightly.models import NightlyPart, NightlyRun


class NightlyPartInline(ReadOnlyAdmin, admin.TabularInline):
    model = NightlyPart
    fields = ["organization_id", "finished_at", "worker", "error"]
    readonly_fields = fields
    extra = 0


@admin.register(NightlyRun)
class NightlyRunAdmin(ReadOnlyAdmin, PurveyorOnlyAdmin, admin.ModelAdmin):
    """How each night went, for whoever looks after the servers: a run that stays
    unfinished names the organizations still missing by their absence from its parts, and
    a part that failed says why."""

    list_display = ["date", "job", "state", "done", "expected", "started_at", "finished_at"]
    list_filter = ["job", "state"]
    date_hierarchy = "date"
    fields = ["job", "date", "replay", "state", "expected", "done", "started_at", "finished_at"]
    readonly_fields = fields
    inlines = [NightlyPartInline]
