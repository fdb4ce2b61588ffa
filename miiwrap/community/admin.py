from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import path

from miiwrap.admin import AuditedAdmin, ReadOnlyAdmin, ScopedAdmin
from miiwrap.community import imports
from miiwrap.community.forms import AttendanceImportForm
from miiwrap.community.models import Attendance, Event
from miiwrap.people.access import viewer_for

ERRORS_SHOWN = 1000
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
class AttendanceAdmin(ReadOnlyAdmin, AuditedAdmin, ScopedAdmin):
    """Recorded on the event's page or imported from a CSV file here; read-only otherwise."""

    list_display = ["event", "person", "status", "recorded_by", "updated_at"]
    list_filter = ["status", "event__kind"]
    search_fields = ["person__first_name", "person__last_name", "person__email", "event__title"]
    list_select_related = ["event", "person", "recorded_by"]

    def get_urls(self):
        view = self.admin_site.admin_view(self.import_view)
        example = self.admin_site.admin_view(self.import_example_view)
        return [
            path("import/", view, name="community_attendance_import"),
            path("import/example.csv", example, name="community_attendance_import_example"),
            *super().get_urls(),
        ]

    def may_import(self, request):
        viewer = viewer_for(request.user)
        return viewer.sees_everything or "org_admin" in viewer.roles

    def import_view(self, request):
        """Upload a CSV file; organization admins only name their own organization's people."""
        if not self.may_import(request):
            raise PermissionDenied
        posted = request.method == "POST"
        form = AttendanceImportForm(
            request.POST if posted else None, request.FILES if posted else None
        )
        result = None
        if posted and form.is_valid():
            result = imports.import_attendance(
                form.cleaned_data["file"],
                imported_by=request.user,
                dry_run=form.cleaned_data["dry_run"],
            )
        ctx = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "result": result,
            "errors_shown": result.errors[:ERRORS_SHOWN] if result else [],
            "errors_hidden": max(0, len(result.errors) - ERRORS_SHOWN) if result else 0,
            "title": "Import attendance from CSV",
            "columns": imports.COLUMNS,
            "viewer": viewer_for(request.user),
        }
        return TemplateResponse(request, "admin/community/attendance/import.html", ctx)

    def import_example_view(self, request):
        if not self.may_import(request):
            raise PermissionDenied
        response = HttpResponse(EXAMPLE, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="attendance-example.csv"'
        return response

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "may_import": self.may_import(request)}
        return super().changelist_view(request, extra_context)
