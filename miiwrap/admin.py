"""The admin site, opened to purveyor admins and scoped for organization admins.

Access in the admin follows the same `visible_to(user)` rules as every page.
Purveyor admins manage everything; organization admins manage their own
organization's people, roles, teams and coach assignments, and nothing else.
"""

from django import forms
from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.contrib.admin.widgets import AutocompleteSelect, AutocompleteSelectMultiple
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpResponseBadRequest

from miiwrap.parsing import LATEST, as_id
from miiwrap.people.access import viewer_for


class MiiwrapAdminSite(admin.AdminSite):
    site_header = "MiiWrap Fidelity admin"
    site_title = "MiiWrap Fidelity admin"
    index_title = "Manage"

    @property
    def login_form(self):
        # Django's admin sign-in form refuses anyone without is_staff, which our admins
        # need not have; has_permission() decides who gets in once signed in. Imported
        # here because this module loads before the auth models are ready.
        from miiwrap.people.forms import SignInForm

        return SignInForm

    def has_permission(self, request):
        user = request.user
        return user.is_active and (user.is_superuser or viewer_for(user).uses_admin)


class MiiwrapAdminConfig(AdminConfig):
    default_site = "miiwrap.admin.MiiwrapAdminSite"


def _usable_key(field, value):
    """Whether `value` can be looked up in `field` (a primary or to-field key) at all."""
    if value in field.empty_values:
        return True
    if isinstance(field, models.IntegerField | models.AutoField):
        return as_id(value) is not None
    try:
        field.to_python(value)
    except ValidationError:
        return False
    return True


class _UsableValues:
    """Django's autocomplete widgets look up the submitted values as they are, so a form
    sent back with `²` or 2**63 in such a field crashed while showing its error. They look
    up only the values their model's key can hold; the field itself names the bad one."""

    def optgroups(self, name, value, attr=None):
        remote = self.field.remote_field
        opts, name = remote.model._meta, getattr(remote, "field_name", None)
        key = opts.get_field(name) if name else opts.pk
        usable = [v for v in value if _usable_key(key, v)]
        return super().optgroups(name, usable, attr)


class UsableAutocompleteSelect(_UsableValues, AutocompleteSelect):
    pass


class UsableAutocompleteSelectMultiple(_UsableValues, AutocompleteSelectMultiple):
    pass


class UsableModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Refuses, as an invalid choice, an id too big for the database (SQLite raised)."""

    def _check_values(self, value):
        opts = self.queryset.model._meta
        key = opts.get_field(self.to_field_name) if self.to_field_name else opts.pk
        for pk in value or []:
            if not _usable_key(key, pk):
                raise ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": pk},
                )
        return super()._check_values(value)


class InputSafeAdmin:
    """What every ModelAdmin here adds to Django's so that bad input gets a 400 or a form
    error, never a 500: related-object widgets and fields that refuse impossible ids, and a
    date hierarchy that refuses impossible dates (Django's overflows past year 9999)."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            using = kwargs.get("using")
            kwargs["widget"] = UsableAutocompleteSelect(db_field, self.admin_site, using=using)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = UsableAutocompleteSelectMultiple(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        kwargs.setdefault("form_class", UsableModelMultipleChoiceField)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def changelist_view(self, request, extra_context=None):
        if problem := self._date_hierarchy_problem(request):
            return HttpResponseBadRequest(problem, content_type="text/plain; charset=utf-8")
        return super().changelist_view(request, extra_context)

    def _date_hierarchy_problem(self, request):
        if not self.date_hierarchy:
            return None
        for part, most in (("year", LATEST.year), ("month", 12), ("day", 31)):
            value = request.GET.get(f"{self.date_hierarchy}__{part}")
            if value is not None and not 1 <= (as_id(value) or 0) <= most:
                return f"“{value}” is not a {part} this list can show; choose one from its dates."
        return None


class ScopedAdmin(InputSafeAdmin, admin.ModelAdmin):
    """A ModelAdmin whose rows and choices are those the signed-in user may see.

    `org_admin_can` names what an organization admin may do with this model
    ("view", "add", "change", "delete"); purveyor admins may do everything.
    """

    org_admin_can = frozenset({"view"})
    list_per_page = 50

    def _may(self, request, action):
        if request.user.is_superuser:
            return True
        viewer = viewer_for(request.user)
        if viewer.sees_everything:
            return True
        return "org_admin" in viewer.roles and action in self.org_admin_can

    def has_module_permission(self, request):
        return self._may(request, "view")

    def has_view_permission(self, request, obj=None):
        return self._may(request, "view") or self._may(request, "change")

    def has_add_permission(self, request):
        return self._may(request, "add")

    def has_change_permission(self, request, obj=None):
        return self._may(request, "change")

    def has_delete_permission(self, request, obj=None):
        return self._may(request, "delete")

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        queryset = kwargs.get("queryset", db_field.remote_field.model._default_manager.all())
        if hasattr(queryset, "visible_to"):
            kwargs["queryset"] = queryset.visible_to(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ReadOnlyAdmin:
    """A record kept as history: shown in the admin, never added, changed or deleted there."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PurveyorOnlyAdmin(InputSafeAdmin):
    """For what only the purveyor manages (logins, groups, drift settings); deleting
    needs a superuser unless `purveyor_deletes`."""

    purveyor_deletes = False

    def _purveyor(self, request):
        return viewer_for(request.user).sees_everything

    def has_module_permission(self, request):
        return self._purveyor(request)

    def has_view_permission(self, request, obj=None):
        return self._purveyor(request)

    def has_add_permission(self, request):
        return self._purveyor(request)

    def has_change_permission(self, request, obj=None):
        return self._purveyor(request)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser or (self.purveyor_deletes and self._purveyor(request))
