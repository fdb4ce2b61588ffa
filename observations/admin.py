"""Rubrics, activity types and observations in the admin.

Rubrics and activity types are shared by every organization: organization admins read
them, purveyor admins manage them. A published or retired rubric version never changes,
because observations were scored on it: its page is read-only, and the actions publish,
retire, copy it as a new draft, or export it. Observations are read here and changed
through the amend page, which keeps the reason and the old values.

Calibration cases, rounds and attempts are the purveyor's alone: a master code must stay
hidden from coaches, and an organization admin may be a coach.
"""

import io
import json
import zipfile

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import Count
from django.http import HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html

from miiwrap.admin import AuditedAdmin, CsvImportAdmin, ReadOnlyAdmin, ScopedAdmin
from miiwrap.once.services import AlreadySent, form_token_once
from miiwrap.once.shortcuts import shown_again
from miiwrap.parsing import SaneDateField
from miiwrap.people.models import Person
from observations import import_guide, imports, rubric_io, services
from observations.admin_forms import (
    CalibrationCaseForm,
    CalibrationRoundForm,
    MetricForm,
    ObservationImportForm,
    RubricImportForm,
    RubricVersionForm,
)
from observations.models import (
    ActivityType,
    Amendment,
    CalibrationAssignment,
    CalibrationAttempt,
    CalibrationCase,
    CalibrationRound,
    Dispute,
    Domain,
    Item,
    Level,
    Metric,
    Observation,
    Rubric,
    RubricVersion,
)


class SharedAdmin(ScopedAdmin):
    """Rows every admin user reads (they belong to no organization); the purveyor edits."""

    def get_queryset(self, request):
        return admin.ModelAdmin.get_queryset(self, request)


def _upload_page(model_admin, request, template, **ctx):
    ctx = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        **ctx,
    }
    return TemplateResponse(request, template, ctx)


# Rubrics ----------------------------------------------------------------------------------


class VersionInline(admin.TabularInline):
    model = RubricVersion
    fields = ["number", "status", "published_at", "notes"]
    readonly_fields = fields
    extra = 0
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return True


@admin.register(Rubric)
class RubricAdmin(AuditedAdmin, SharedAdmin):
    list_display = ["name", "code", "audience"]
    search_fields = ["name", "code"]
    inlines = [VersionInline]

    def get_urls(self):
        view = self.admin_site.admin_view(self.import_view)
        return [path("import/", view, name="observations_rubric_import"), *super().get_urls()]

    def import_view(self, request):
        """Load a rubric version from a JSON document exported here or elsewhere."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        posted = request.method == "POST"
        form = RubricImportForm(request.POST if posted else None, request.FILES if posted else None)
        if posted and form.is_valid():
            try:
                version = form_token_once(
                    token=form.token(),
                    user=request.user,
                    create=lambda: services.rubric_version_import(data=form.cleaned_data["file"]),
                )
            except AlreadySent as sent:
                return shown_again(
                    request, sent, _version_url, "admin:observations_rubric_changelist"
                )
            except rubric_io.RubricFormatError as error:
                form.add_error("file", str(error))
            else:
                messages.success(request, f"Imported {version} ({version.get_status_display()}).")
                url = reverse("admin:observations_rubricversion_change", args=[version.pk])
                return HttpResponseRedirect(url)
        return _upload_page(
            self,
            request,
            "admin/observations/rubric/import.html",
            form=form,
            title="Import rubric from JSON",
        )

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "may_import": self.has_add_permission(request)}
        return super().changelist_view(request, extra_context)


def _version_url(version):
    return reverse("admin:observations_rubricversion_change", args=[version.pk])


class DraftOnlyInline:
    """Parts of a rubric version: editable while the version is a draft, by the purveyor."""

    def _editable(self, request, obj):
        may = self.admin_site._registry[RubricVersion].has_change_permission(request)
        return may and (obj is None or obj.is_editable)

    def has_add_permission(self, request, obj=None):
        return self._editable(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._editable(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._editable(request, obj)

    def has_view_permission(self, request, obj=None):
        return True


class DomainInline(DraftOnlyInline, admin.TabularInline):
    model = Domain
    fields = ["code", "name", "position"]
    extra = 0


class ItemInline(DraftOnlyInline, admin.TabularInline):
    model = Item
    fields = [
        "code",
        "label",
        "kind",
        "domain",
        "scale_min",
        "scale_max",
        "allows_na",
        "required",
        "position",
    ]
    extra = 0
    show_change_link = True  # levels and guidance are edited on the item's own page

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        if "domain" in formset.form.base_fields:
            domains = Domain.objects.filter(version=obj) if obj else Domain.objects.none()
            formset.form.base_fields["domain"].queryset = domains
        return formset


class MetricInline(DraftOnlyInline, admin.StackedInline):
    model = Metric
    form = MetricForm
    extra = 0


@admin.register(RubricVersion)
class RubricVersionAdmin(AuditedAdmin, SharedAdmin):
    form = RubricVersionForm
    list_display = ["__str__", "rubric", "number", "status", "published_at"]
    list_filter = ["status", "rubric"]
    list_select_related = ["rubric"]
    search_fields = ["rubric__name", "rubric__code", "notes"]
    readonly_fields = ["status", "published_at"]
    inlines = [DomainInline, ItemInline, MetricInline]
    actions = ["publish", "retire", "copy_as_draft", "export_json"]

    def get_queryset(self, request):
        return super().get_queryset(request).with_structure()

    def get_actions(self, request):
        # Deleting in bulk would reach published versions; a draft is deleted from its page.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (obj is None or obj.is_editable)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and (obj is None or obj.is_editable)

    @admin.action(description="Publish selected drafts", permissions=["change"])
    def publish(self, request, queryset):
        self._each(request, queryset, services.rubric_version_publish, "published")

    @admin.action(description="Retire selected versions", permissions=["change"])
    def retire(self, request, queryset):
        self._each(request, queryset, services.rubric_version_retire, "retired")

    def _each(self, request, queryset, service, done):
        for version in queryset:
            try:
                service(version=version)
            except ValidationError as error:
                messages.error(request, f"{version} was not {done}: {' '.join(error.messages)}")
            else:
                messages.success(request, f"{version} {done}.")

    @admin.action(description="Copy as new draft version", permissions=["change"])
    def copy_as_draft(self, request, queryset):
        copies = [services.rubric_version_copy(version=version) for version in queryset]
        for copy in copies:
            messages.success(request, f"{copy} created as a draft.")
        if len(copies) == 1:
            url = reverse("admin:observations_rubricversion_change", args=[copies[0].pk])
            return HttpResponseRedirect(url)
        return None

    @admin.action(description="Export as JSON", permissions=["view"])
    def export_json(self, request, queryset):
        files = {
            f"{version.rubric.code}-v{version.number}.json": json.dumps(
                rubric_io.dump_version(version), indent=2, ensure_ascii=False
            )
            for version in queryset
        }
        if len(files) == 1:
            [(name, text)] = files.items()
            return _attachment(text.encode(), "application/json", name)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, text in files.items():
                archive.writestr(name, text)
        return _attachment(buffer.getvalue(), "application/zip", "rubric-versions.zip")


def _attachment(content, content_type, name):
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


class LevelInline(DraftOnlyInline, admin.TabularInline):
    model = Level
    fields = ["value", "label", "descriptor"]
    extra = 0

    def _editable(self, request, obj):
        # Levels sit on an item's page; the item knows whether its version is a draft.
        return self.admin_site._registry[Item].has_change_permission(request, obj)


@admin.register(Item)
class ItemAdmin(AuditedAdmin, SharedAdmin):
    """An item's own page, reached from its version: guidance and the levels' descriptors."""

    list_display = ["code", "label", "version", "kind"]
    list_select_related = ["version__rubric"]
    list_filter = ["version"]
    search_fields = ["code", "label"]
    readonly_fields = ["version"]
    inlines = [LevelInline]

    def has_module_permission(self, request):
        return False  # reached from a version's page, not from the index

    def has_add_permission(self, request):
        return False  # items are added on their version's page

    def has_change_permission(self, request, obj=None):
        editable = obj is None or obj.version.is_editable
        return super().has_change_permission(request, obj) and editable

    def has_delete_permission(self, request, obj=None):
        return self.has_change_permission(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "domain":
            item_id = request.resolver_match.kwargs.get("object_id")
            kwargs["queryset"] = Domain.objects.filter(version__items__pk=item_id)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(ActivityType)
class ActivityTypeAdmin(SharedAdmin):
    list_display = ["name", "is_active", "position"]
    list_filter = ["is_active"]
    search_fields = ["name"]


# Observations -----------------------------------------------------------------------------


@admin.register(Observation)
class ObservationAdmin(CsvImportAdmin, AuditedAdmin, ScopedAdmin):
    list_display = [
        "observed_on",
        "practitioner",
        "coach",
        "rubric_version",
        "activity",
        "overall_score",
        "band",
        "status",
    ]
    list_filter = [
        "status",
        "band",
        ("rubric_version__rubric", admin.RelatedOnlyFieldListFilter),
        ("practitioner__organization", admin.RelatedOnlyFieldListFilter),
        ("activity", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = [
        "practitioner__first_name",
        "practitioner__last_name",
        "practitioner__email",
        "practitioner__staff_id",
        "coach__first_name",
        "coach__last_name",
    ]
    list_select_related = ["practitioner", "coach", "rubric_version__rubric", "activity"]
    date_hierarchy = "observed_on"

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in Observation._meta.fields]

    def has_add_permission(self, request):
        return False  # coaches record observations; files come through the import page

    def has_change_permission(self, request, obj=None):
        return False  # changed on the amend page, which keeps the reason and old values

    import_form = ObservationImportForm
    import_template = "admin/observations/observation/import.html"
    import_title = "Import observations from CSV"
    import_columns = imports.COLUMNS

    def run_import(self, file, **how):
        return imports.import_observations(file, **how)

    def import_context(self, request):
        return {
            "versions": [
                (v, import_guide.item_columns(v)) for v in import_guide.published_versions()
            ],
            "activities": import_guide.activities(),
            "example_people": (import_guide.EXAMPLE_PRACTITIONER, import_guide.EXAMPLE_COACH),
        }

    def import_example(self):
        """An example file for the import page, from the columns and rubrics it reads."""
        return import_guide.example_download()


@admin.register(Amendment)
class AmendmentAdmin(ReadOnlyAdmin, ScopedAdmin):
    list_display = ["observation", "amended_by", "amended_at", "reason"]
    list_select_related = [
        "observation__practitioner",
        "observation__rubric_version__rubric",
        "amended_by",
    ]
    search_fields = ["reason", "observation__practitioner__last_name"]
    date_hierarchy = "amended_at"

    def get_queryset(self, request):
        visible = Observation.objects.visible_to(request.user)
        return admin.ModelAdmin.get_queryset(self, request).filter(observation__in=visible)

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in Amendment._meta.fields]


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdmin, ScopedAdmin):
    """Disputes are raised and settled on the observation's page, where the rules are kept;
    here they are read."""

    list_display = ["observation", "raised_by", "raised_at", "status", "settled_by", "settled_at"]
    list_filter = ["status"]
    list_select_related = [
        "observation__practitioner",
        "observation__rubric_version__rubric",
        "raised_by",
        "settled_by",
    ]
    search_fields = ["reason", "answer", "observation__practitioner__last_name"]
    date_hierarchy = "raised_at"

    def get_queryset(self, request):
        visible = Observation.objects.visible_to(request.user)
        return admin.ModelAdmin.get_queryset(self, request).filter(observation__in=visible)

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in Dispute._meta.fields]


# Calibration ------------------------------------------------------------------------------

SANE_DATES = {models.DateField: {"form_class": SaneDateField}}


@admin.register(CalibrationCase)
class CalibrationCaseAdmin(AuditedAdmin, ScopedAdmin):
    """A recorded session, its consent and retention, and its master code, which is
    scored on its own page (linked from here) and only read here."""

    org_admin_can = frozenset()  # master codes are secret from coaches
    form = CalibrationCaseForm
    # A link typed without its scheme is read as https, as Django 6 will.
    formfield_overrides = {**SANE_DATES, models.URLField: {"assume_scheme": "https"}}
    list_display = [
        "title",
        "rubric_version",
        "master_coded",
        "consent_on",
        "retain_until",
        "material_removed_on",
        "is_active",
    ]
    list_filter = ["is_active", ("rubric_version", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["rubric_version__rubric"]
    search_fields = ["title", "description", "consent_note"]
    fieldsets = [
        (None, {"fields": ["title", "description", "rubric_version", "is_active"]}),
        (
            "Material and consent",
            {
                "fields": [
                    "recording_url",
                    "transcript",
                    "consent_on",
                    "consent_note",
                    "retain_until",
                    "material_removed_on",
                ]
            },
        ),
        (
            "Master code",
            {
                "fields": [
                    "master_code_page",
                    "master_coder",
                    "master_coded_at",
                    "master_scores",
                    "rationale",
                ]
            },
        ),
    ]

    def get_readonly_fields(self, request, obj=None):
        # The master code is written on its own page, which checks it item by item.
        fields = [
            "material_removed_on",
            "master_code_page",
            "master_coder",
            "master_coded_at",
            "master_scores",
            "rationale",
        ]
        if obj is not None and obj.is_master_coded:
            fields.append("rubric_version")  # the master code scores this version's items
        if obj is not None and obj.material_removed_on:
            # Gone for good after the retention day; new material is a new consent and case.
            fields += ["recording_url", "transcript", "retain_until"]
        return fields

    def get_actions(self, request):
        # Deleting in bulk would skip deleting each case's transcript.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def save_model(self, request, obj, form, change):
        replaced = form.initial.get("transcript") if "transcript" in form.changed_data else None
        super().save_model(request, obj, form, change)
        if replaced:
            services.calibration_transcripts_forget(names=[replaced.name])

    def delete_model(self, request, obj):
        name = obj.transcript.name
        super().delete_model(request, obj)
        services.calibration_transcripts_forget(names=[name])

    @admin.display(description="Master coded", boolean=True)
    def master_coded(self, case):
        return case.is_master_coded

    @admin.display(description="Master-coding page")
    def master_code_page(self, case):
        if case.pk is None:
            return "Save the case first, then score its master code on its own page."
        label = "Change the master code" if case.is_master_coded else "Score the master code"
        return format_html('<a href="{}">{}</a>', master_code_url(case), label)


def master_code_url(case):
    try:
        return reverse("observations:calibration_master", args=[case.pk])
    except NoReverseMatch:  # before the master-coding page is installed
        return f"/observations/calibration/cases/{case.pk}/master/"


class CalibrationAssignmentInline(admin.TabularInline):
    model = CalibrationAssignment
    fields = ["coach", "organization", "assigned_by", "assigned_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "coaches assigned"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("coach__organization", "assigned_by")

    def has_add_permission(self, request, obj=None):
        return False  # assigned through the form's coaches and organizations

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return True  # on the round's page, which decides who may see it

    @admin.display(description="Organization")
    def organization(self, assignment):
        return assignment.coach.organization


@admin.register(CalibrationRound)
class CalibrationRoundAdmin(AuditedAdmin, ScopedAdmin):
    """Cases a set of coaches score on their own; coaches are assigned by name or by
    organization (every current coach of it), once each however often the form is sent."""

    org_admin_can = frozenset()
    form = CalibrationRoundForm
    formfield_overrides = SANE_DATES
    list_display = ["name", "opens_on", "due_on", "case_count", "coach_count"]
    search_fields = ["name"]
    date_hierarchy = "opens_on"
    fields = ["name", "opens_on", "due_on", "cases", "coaches", "organizations"]
    filter_horizontal = ["cases"]
    inlines = [CalibrationAssignmentInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                case_count=Count("cases", distinct=True),
                coach_count=Count("assignments", distinct=True),
            )
        )

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = Person.objects.signed_in_as(request.user)
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.calibration_round_assign(
            round=form.instance,
            coaches=form.coaches_to_assign(),
            by=Person.objects.signed_in_as(request.user),
        )

    @admin.display(description="Cases", ordering="case_count")
    def case_count(self, calibration_round):
        return calibration_round.case_count

    @admin.display(description="Coaches", ordering="coach_count")
    def coach_count(self, calibration_round):
        return calibration_round.coach_count


@admin.register(CalibrationAttempt)
class CalibrationAttemptAdmin(ReadOnlyAdmin, AuditedAdmin, ScopedAdmin):
    """Coaches' scores of cases, compared with the master code: read here, scored and
    submitted by each coach on their own page."""

    org_admin_can = frozenset()
    list_display = ["coach", "case", "round", "status", "within_one", "submitted_at"]
    list_filter = [
        "status",
        ("round", admin.RelatedOnlyFieldListFilter),
        ("case", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["coach", "case", "round"]
    search_fields = ["coach__first_name", "coach__last_name", "case__title", "round__name"]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in CalibrationAttempt._meta.fields]

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Within one of the master")
    def within_one(self, attempt):
        percent = attempt.within_one_percent
        if percent is None:
            return "—"
        return f"{percent}% ({attempt.items_within_one} of {attempt.items_compared})"
