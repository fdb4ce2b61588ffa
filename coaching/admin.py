from django.contrib import admin

from coaching.models import CoachAssignment
from miiwrap.admin import ScopedAdmin


@admin.register(CoachAssignment)
class CoachAssignmentAdmin(ScopedAdmin):
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
