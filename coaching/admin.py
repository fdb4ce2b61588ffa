from django.contrib import admin

from coaching.models import (
    CoachAssignment,
    CoachingPlan,
    DriftAlert,
    DriftSettings,
    Goal,
    TrainerAssignment,
)
from miiwrap.admin import AuditedAdmin, PurveyorOnlyAdmin, ReadOnlyAdmin, ScopedAdmin, SentOnceAdmin
from observations.models import Rubric


@admin.register(CoachAssignment)
class CoachAssignmentAdmin(AuditedAdmin, ScopedAdmin):
    org_admin_can = frozenset({"view", "add", "change"})
    list_display = ["coach", "practitioner", "starts_on", "ends_on"]
    list_filter = [
        ("practitioner__organization", admin.RelatedOnlyFieldListFilter),
        ("ends_on", admin.EmptyFieldListFilter),
    ]
    search_fields = [
        "coach__first_name",
        "coach__last_name",
        "practitioner__first_name",
        "practitioner__last_name",
    ]
    list_select_related = ["coach", "practitioner"]
    autocomplete_fields = ["coach", "practitioner"]
    date_hierarchy = "starts_on"


@admin.register(TrainerAssignment)
class TrainerAssignmentAdmin(AuditedAdmin, ScopedAdmin):
    """Which certified trainer observes which coach: managed as coach assignments are."""

    org_admin_can = frozenset({"view", "add", "change"})
    list_display = ["trainer", "coach", "starts_on", "ends_on"]
    list_filter = [
        ("coach__organization", admin.RelatedOnlyFieldListFilter),
        ("ends_on", admin.EmptyFieldListFilter),
    ]
    search_fields = [
        "trainer__first_name",
        "trainer__last_name",
        "coach__first_name",
        "coach__last_name",
    ]
    list_select_related = ["trainer", "coach"]
    autocomplete_fields = ["trainer", "coach"]
    date_hierarchy = "starts_on"


# Drift ------------------------------------------------------------------------------------


@admin.register(DriftSettings)
class DriftSettingsAdmin(SentOnceAdmin, PurveyorOnlyAdmin, AuditedAdmin):
    """How drift is detected is the purveyor's to tune, for every organization at once."""

    list_display = [
        "rubric",
        "enabled",
        "shift_limit",
        "items_limit",
        "before_points",
        "lam",
        "limit_sigmas",
        "cusum_k",
        "cusum_h",
        "run_length",
        "baseline_n",
        "min_own_points",
        "adequate_band",
        "momentum_window",
        "momentum_slope",
        "close_after",
    ]
    list_filter = ["enabled"]
    list_select_related = ["rubric"]
    fieldsets = [
        (None, {"fields": ["rubric", "enabled"]}),
        (
            "Practitioners",
            {
                "fields": ["shift_limit", "items_limit", "before_points"],
                "description": "Each practitioner's scores are judged by a fall from their "
                "usual level, a slip in a few items, and the band rule.",
            },
        ),
        (
            "Teams and items (monthly means)",
            {"fields": ["lam", "limit_sigmas", "cusum_k", "cusum_h"]},
        ),
        ("Rules", {"fields": ["run_length", "adequate_band", "close_after"]}),
        ("Baseline and spread", {"fields": ["baseline_n", "min_own_points"]}),
        ("Momentum", {"fields": ["momentum_window", "momentum_slope"]}),
    ]

    purveyor_deletes = True

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Drift is of people's scores: a readiness instrument is never a choice.
        if db_field.name == "rubric":
            kwargs["queryset"] = Rubric.objects.of_people()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(DriftAlert)
class DriftAlertAdmin(ReadOnlyAdmin, AuditedAdmin, ScopedAdmin):
    """Read-only here: alerts are raised by the drift job and handled on their own page."""

    list_display = ["about", "rubric", "rule", "status", "began_on", "raised_on", "organization"]
    list_filter = [
        "scope",
        "rule",
        "status",
        "rubric",
        ("organization", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["practitioner__first_name", "practitioner__last_name"]
    list_select_related = ["practitioner", "team", "organization", "rubric"]
    date_hierarchy = "raised_on"

    @admin.display(description="about")
    def about(self, alert):
        return alert.about()


# Coaching plans ------------------------------------------------------------------------------


class GoalInline(admin.TabularInline):
    model = Goal
    fields = ["description", "rubric", "item_codes", "metric_code", "target", "status"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(CoachingPlan)
class CoachingPlanAdmin(ReadOnlyAdmin, AuditedAdmin, ScopedAdmin):
    """Read-only here: plans, goals and sessions are written by coaches on the plan's page,
    where the rules about who may change them hold."""

    list_display = ["practitioner", "status", "started_on", "organization"]
    list_filter = ["status", ("organization", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["practitioner__first_name", "practitioner__last_name"]
    list_select_related = ["practitioner", "organization"]
    date_hierarchy = "started_on"
    inlines = [GoalInline]
