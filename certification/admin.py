from urllib.parse import urlencode

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import RelatedFieldWidgetWrapper
from django.core.exceptions import PermissionDenied
from django.db.models import Case, F, IntegerField, Value, When
from django.http import Http404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST

from certification import reminders
from certification.models import (
    CertificationEvent,
    CertificationPeriod,
    EvidenceRule,
    Program,
    ReminderRule,
)
from miiwrap.admin import AuditedAdmin, ReadOnlyAdmin, ScopedAdmin, SentOnceAdmin
from miiwrap.parsing import as_id
from miiwrap.people.access import viewer_for
from observations.models import Rubric


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
    # What every rule sets, then what only one source of evidence reads.
    fieldsets = [
        (None, {"fields": ["kind", "source", "rubric", "within_days"]}),
        (
            "From observations of the person",
            {
                "fields": [
                    "min_observations",
                    ("min_overall", "min_band"),
                    "observer_certified_in",
                    "min_activity_types",
                    ("companion_rubric", "companion_min_band"),
                ]
            },
        ),
        (
            "From calibration against master codes (an observer certification)",
            {"fields": [("min_cases", "min_within_one_percent")]},
        ),
        ("Learning community events (either source)", {"fields": [("min_events", "event_kind")]}),
    ]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Evidence is of people: an organization's readiness instrument is never a choice.
        if db_field.name in ("rubric", "companion_rubric"):
            kwargs["queryset"] = Rubric.objects.of_people()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Program)
class ProgramAdmin(SentOnceAdmin, PurveyorManaged, AuditedAdmin):
    list_display = [
        "name",
        "requires",
        "active_months",
        "window_days",
        "grace_days",
        "observe_every_days",
        "session_every_days",
        "session_every_days_certified",
        "dispute_window_days",
    ]
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
class CertificationPeriodAdmin(ReadOnlyAdmin, AuditedAdmin, ScopedAdmin):
    """Read-only here: certifying, renewing and revoking go through the decision services."""

    list_display = ["person", "program", "valid_from", "valid_until", "revoked_on"]
    list_filter = ["program", ("revoked_on", admin.EmptyFieldListFilter)]
    search_fields = ["person__first_name", "person__last_name", "person__email"]
    list_select_related = ["person", "program"]
    date_hierarchy = "valid_until"
    inlines = [EventInline]


# Reminder rules ---------------------------------------------------------------------------
#
# The purveyor's defaults apply to every organization; an organization admin reads them and
# writes only their own organization's rules, which may replace a default.

PREVIEW_TEMPLATE = "admin/certification/reminderrule/preview.html"
# Fields copied from a default when an organization admin starts a replacement of it.
COPIED_FROM_DEFAULT = [
    "program",
    "timing",
    "days",
    "to_practitioner",
    "to_coach",
    "to_leader",
    "subject",
    "body_text",
    "body_html",
]

# The moments in the order they come: before expiry (furthest first), on lapse, after grace.
IN_TIME_ORDER = Case(
    When(timing=ReminderRule.Timing.BEFORE_EXPIRY, then=-F("days")),
    When(timing=ReminderRule.Timing.AFTER_EXPIRY, then=F("days")),
    default=F("days") + Value(10_000),
    output_field=IntegerField(),
)


def placeholder_help():
    """The placeholders an email may use, with what each becomes, for the form's help."""
    items = format_html_join(
        "",
        "<li><code>{}</code>: {}</li>",
        (("{{ " + name + " }}", meaning) for name, meaning in reminders.PLACEHOLDERS.items()),
    )
    return format_html(
        "<p>Write a placeholder in the subject or a body and it is filled in for each "
        "email; in the HTML body its value is escaped. Only these exist:</p><ul>{}</ul>",
        items,
    )


def allow_email_styles(response):
    """django-csp reads this to add inline styles to this one response's policy."""
    response._csp_update = {"style-src": ["'unsafe-inline'"]}
    return response


def preview_context(rule):
    """What the preview shows: the rule's email filled in with the sample person."""
    subject, text, html = reminders.render(rule, reminders.SAMPLE)
    return {"subject": subject, "text": text, "html": html, "sample": reminders.SAMPLE}


class ReminderRuleForm(forms.ModelForm):
    """The rule form. An organization admin's copy has their organization fixed in it
    (a disabled field ignores whatever is posted), so the model's checks and constraints
    see the organization the rule will be saved with."""

    fixed_organization_id = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "organization" in self.fields and self.fixed_organization_id is not None:
            self._fix_organization()
        if "replaces" in self.fields:
            self._offer_defaults()

    def _fix_organization(self):
        field = self.fields["organization"]
        field.queryset = field.queryset.filter(pk=self.fixed_organization_id)
        field.disabled = True
        field.help_text = "Your organization: its rules apply to its people only."
        self.initial["organization"] = self.fixed_organization_id

    def _offer_defaults(self):
        """Only the purveyor's defaults, of the rule's program once it is known."""
        field = self.fields["replaces"]
        field.queryset = field.queryset.filter(organization=None).select_related("program")
        field.label_from_instance = lambda rule: f"{rule.program}: {rule.moment}"
        program_id = self.instance.program_id or as_id(self.initial.get("program"))
        if program_id:
            field.queryset = field.queryset.filter(program_id=program_id)


class WhoseFilter(admin.SimpleListFilter):
    """The purveyor's defaults, or one organization's own rules."""

    title = "whose"
    parameter_name = "whose"

    def lookups(self, request, model_admin):
        owners = (
            model_admin.get_queryset(request)
            .exclude(organization=None)
            .order_by("organization__name")
            .values_list("organization_id", "organization__name")
            .distinct()
        )
        return [("default", "Default"), *((str(pk), name) for pk, name in owners)]

    def queryset(self, request, queryset):
        if self.value() == "default":
            return queryset.filter(organization=None)
        if organization_id := as_id(self.value()):
            return queryset.filter(organization_id=organization_id)
        return queryset


@admin.register(ReminderRule)
class ReminderRuleAdmin(AuditedAdmin, ScopedAdmin):
    """Purveyor admins manage every rule; an organization admin reads the defaults and
    manages their own organization's rules, including replacements of defaults."""

    org_admin_can = frozenset({"view", "add", "change", "delete"})
    form = ReminderRuleForm
    list_display = ["program", "moment", "whose", "recipients", "is_active", "replaces_moment"]
    list_filter = ["program", "timing", WhoseFilter, "is_active"]
    search_fields = ["subject"]
    list_select_related = ["program", "organization", "replaces"]
    ordering = ["program", F("organization__name").asc(nulls_first=True), IN_TIME_ORDER.asc()]
    readonly_fields = ["preview"]

    class Media:
        css = {"all": ["css/reminder-preview.css"]}

    # Access ---------------------------------------------------------------------------

    def _owns(self, request, obj):
        """Whether the user may write this rule: the purveyor any, others their own."""
        viewer = viewer_for(request.user)
        if obj is None or viewer.sees_everything:
            return True
        return obj.organization_id is not None and obj.organization_id == viewer.organization_id

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._owns(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._owns(request, obj)

    # The list -------------------------------------------------------------------------

    @admin.display(description="when", ordering=IN_TIME_ORDER)
    def moment(self, rule):
        return rule.moment

    @admin.display(description="whose", ordering="organization__name")
    def whose(self, rule):
        return rule.organization or "Default"

    @admin.display(description="to")
    def recipients(self, rule):
        names = [
            name
            for name, wanted in [
                ("person", rule.to_practitioner),
                ("coach", rule.to_coach),
                ("leader", rule.to_leader),
            ]
            if wanted
        ]
        return ", ".join(names) or "nobody"

    @admin.display(description="replaces")
    def replaces_moment(self, rule):
        return rule.replaces.moment if rule.replaces_id else ""

    # The form -------------------------------------------------------------------------

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            ("When", {"fields": ["program", "timing", "days"]}),
            ("Who", {"fields": ["to_practitioner", "to_coach", "to_leader"]}),
            (
                "Email",
                {
                    "fields": ["subject", "body_text", "body_html"],
                    "description": placeholder_help(),
                },
            ),
            (
                "Override",
                {
                    "fields": ["organization", "replaces", "is_active"],
                    "description": "A rule with an organization applies to its people only; "
                    "one that replaces a default is sent instead of it there.",
                },
            ),
        ]
        if obj is not None:
            fieldsets.append(("Preview", {"fields": ["preview"]}))
        return fieldsets

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        viewer = viewer_for(request.user)
        if viewer.sees_everything:
            return form
        return type(form.__name__, (form,), {"fixed_organization_id": viewer.organization_id})

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        # A default is picked here, never added or edited from an organization's rule.
        if db_field.name == "replaces" and isinstance(field.widget, RelatedFieldWidgetWrapper):
            field.widget.can_add_related = False
            field.widget.can_change_related = False
            field.widget.can_delete_related = False
        return field

    def get_changeform_initial_data(self, request):
        """`?replaces=<default id>` starts a replacement as a copy of that default."""
        initial = super().get_changeform_initial_data(request)
        default_id = as_id(initial.get("replaces"))
        default = self.get_queryset(request).filter(organization=None, pk=default_id).first()
        if default is not None:
            for name in COPIED_FROM_DEFAULT:
                initial.setdefault(name, getattr(default, name))
            initial["program"] = default.program_id
        return initial

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if add and self.has_add_permission(request):
            context["preview_url"] = reverse("admin:certification_reminderrule_preview_new")
        elif change and self.has_change_permission(request, obj):
            context["preview_url"] = reverse(
                "admin:certification_reminderrule_preview", args=[obj.pk]
            )
        if change:
            context["replace_link"] = self._replace_link(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _replace_link(self, request, rule):
        """For an organization admin reading a default: (label, url) to replace it, or to
        their replacement when they have one."""
        viewer = viewer_for(request.user)
        if rule.organization_id is not None or viewer.sees_everything:
            return None
        if not self.has_add_permission(request):
            return None
        mine = rule.replacements.filter(organization_id=viewer.organization_id).first()
        if mine is not None:
            url = reverse("admin:certification_reminderrule_change", args=[mine.pk])
            return ("Your replacement of this default", url)
        url = reverse("admin:certification_reminderrule_add")
        return ("Replace it for your organization", f"{url}?{urlencode({'replaces': rule.pk})}")

    # The preview ----------------------------------------------------------------------
    #
    # The preview frame shows the email's own HTML, which styles itself inline, and a
    # srcdoc frame lives under its page's Content-Security-Policy: the pages that show it
    # allow inline styles (never scripts; the frame is sandboxed besides).

    def changeform_view(self, *args, **kwargs):
        return allow_email_styles(super().changeform_view(*args, **kwargs))

    @admin.display(description="Preview")
    def preview(self, rule):
        """The saved email, filled in with the sample person; the HTML in a sandbox."""
        return render_to_string(PREVIEW_TEMPLATE, preview_context(rule))

    def get_urls(self):
        view = self.admin_site.admin_view(require_POST(self.preview_view))
        return [
            path("preview/", view, name="certification_reminderrule_preview_new"),
            path("<path:object_id>/preview/", view, name="certification_reminderrule_preview"),
            *super().get_urls(),
        ]

    def preview_view(self, request, object_id=None):
        """The form as posted, previewed without saving: the email, or why it cannot be."""
        rule = self.get_object(request, object_id) if object_id else None
        if object_id and rule is None:
            raise Http404("No such reminder rule, or not one of yours.")
        if rule is None:
            allowed = self.has_add_permission(request)
        else:
            allowed = self.has_change_permission(request, rule)
        if not allowed:
            raise PermissionDenied
        form = self.get_form(request, rule, change=rule is not None)(request.POST, instance=rule)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Preview of unsaved edits",
            "form": form,
            "original": rule,
            "preview": preview_context(form.instance) if form.is_valid() else None,
        }
        return allow_email_styles(
            TemplateResponse(request, "admin/certification/reminderrule/preview_page.html", context)
        )
