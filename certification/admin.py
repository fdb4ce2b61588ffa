from django.contrib import admin

from certification.models import CertificationEvent, CertificationPeriod, EvidenceRule, Program
from miiwrap.admin import ReadOnlyAdmin, ScopedAdmin
from miiwrap.people.access import viewer_for


class PurveyorManaged:
    """Programs and their rules are the purveyor's; others may look."""

    def _purveyor(self, request):
        return viewer_for(request.user).sees_everything

    def has_add_permission(self, request, obj=None):
        return self._purveyor(request)

    def has_change_permission(self, request, obj=None):
        return self._purveyor(request)

    def has_delete_permission(self, request, obj=None):
        return self._purveyor(request)


class EvidenceRuleInline(PurveyorManaged, admin.StackedInline):
    model = EvidenceRule
    fk_name = "program"
    extra = 0
    max_num = 2


@admin.register(Program)
class ProgramAdmin(PurveyorManaged, admin.ModelAdmin):
    list_display = ["name", "requires", "active_months", "window_days", "grace_days"]
    list_filter = ["certified_by_purveyor"]
    search_fields = ["name", "code"]
    inlines = [EvidenceRuleInline]

    def has_module_permission(self, request):
        return viewer_for(request.user).uses_admin

    def has_view_permission(self, request, obj=None):
        return viewer_for(request.user).uses_admin


class EventInline(admin.TabularInline):
    model = CertificationEvent
    extra = 0
    can_delete = False
    readonly_fields = ["kind", "happened_on", "recorded_at", "by", "note"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(CertificationPeriod)
class CertificationPeriodAdmin(ReadOnlyAdmin, ScopedAdmin):
    """Read-only here: certifying, renewing and revoking go through the decision services."""

    list_display = ["person", "program", "valid_from", "valid_until", "revoked_on"]
    list_filter = ["program", ("revoked_on", admin.EmptyFieldListFilter)]
    search_fields = ["person__first_name", "person__last_name", "person__email"]
    list_select_related = ["person", "program"]
    date_hierarchy = "valid_until"
    inlines = [EventInline]
