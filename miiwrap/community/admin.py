from django.contrib import admin
from django.http import HttpResponse

from miiwrap.admin import AuditedAdmin, CsvImportAdmin, ReadOnlyAdmin, ScopedAdmin
from miiwrap.community import imports
from miiwrap.community.forms import AttendanceImportForm
from miiwrap.community.models import Attendance, Event
from miiwrap.people.access import viewer_for

EXAMPLE = (
    "event,title,date,person,organization,status\n"
    ",Learning community: reflections,2026-03-12,pat@example.org,,attended\n"
    "42,,,S-1041,Riverbend Family Services,absent\n"
)


@admin.register(Event)
class EventAdmin(AuditedAdmin, ScopedAdmin):
    """Events are made on the events pages; here the purveyor reads and corrects them."""

    list_display = ["title", "held_on", "kind", "format", "facilitator", "capacity"]
    list_filter = ["kind", "format"]
    search_fields = ["title", "topic"]
    date_hierarchy = "held_on"
    list_select_related = ["facilitator"]
    filter_horizontal = ["organizations"]
    readonly_fields = ["created_by", "created_at"]


@admin.register(Attendance)
class AttendanceAdmin(CsvImportAdmin, ReadOnlyAdmin, AuditedAdmin, ScopedAdmin):
    """Recorded on the event's page or imported from a CSV file here; read-only otherwise."""

    list_display = ["event", "person", "status", "recorded_by", "updated_at"]
    list_filter = ["status", "event__kind"]
    search_fields = ["person__first_name", "person__last_name", "person__email", "event__title"]
    list_select_related = ["event", "person", "recorded_by"]

    import_form = AttendanceImportForm
    import_template = "admin/community/attendance/import.html"
    import_title = "Import attendance from CSV"
    import_columns = imports.COLUMNS

    def run_import(self, file, **how):
        return imports.import_attendance(file, **how)

    def import_context(self, request):
        return {"viewer": viewer_for(request.user)}

    def import_example(self):
        response = HttpResponse(EXAMPLE, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="attendance-example.csv"'
        return response
