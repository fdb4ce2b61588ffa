"""The admin site, opened to purveyor admins and scoped for organization admins.

Access in the admin follows the same `visible_to(user)` rules as every page.
Purveyor admins manage everything; organization admins manage their own
organization's people, roles, teams and coach assignments, and nothing else.
"""

from django.contrib import admin, messages
from django.contrib.admin.apps import AdminConfig
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.contrib.admin.widgets import AutocompleteSelect, AutocompleteSelectMultiple
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from simple_history.admin import SimpleHistoryAdmin

from miiwrap.forms import UsableModelMultipleChoiceField, usable_key
from miiwrap.once.forms import TOKEN_FIELD, with_token
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
        from miiwrap.people import second_factor

        user = request.user
        if not user.is_active or not (user.is_superuser or viewer_for(user).uses_admin):
            return False
        # Besides the pages' own detour: the admin never opens before the code is given.
        return not second_factor.holds_back(request)

    def get_urls(self):
        # Django's "view on site" shortcut redirects for any record that exists, so an
        # organization admin could tell another organization's records from missing ones.
        ours = path(
            "r/<int:content_type_id>/<path:object_id>/",
            self.admin_view(self.view_on_site),
            name="view_on_site",
        )
        return [ours, *super().get_urls()]

    def view_on_site(self, request, content_type_id, object_id):
        """Django's shortcut, for records this admin shows the user; 404 for any other."""
        # Imported here: this module loads before the contenttypes models are ready.
        from django.contrib.contenttypes import views as contenttype_views
        from django.contrib.contenttypes.models import ContentType

        try:
            model = ContentType.objects.get_for_id(content_type_id).model_class()
        except ContentType.DoesNotExist:
            raise Http404 from None
        model_admin = self._registry.get(model)
        if model_admin is None or not model_admin.has_view_permission(request):
            raise Http404
        try:
            visible = model_admin.get_queryset(request).filter(pk=object_id).exists()
        except (ValueError, TypeError):
            visible = False
        if not visible:
            raise Http404
        return contenttype_views.shortcut(request, content_type_id, object_id)


class MiiwrapAdminConfig(AdminConfig):
    default_site = "miiwrap.admin.MiiwrapAdminSite"


class SentOnceAdmin:
    """An add page sent twice (a double click, a replayed post) adds one record: its form
    carries a one-time token, claimed with the record, and the second post is shown the
    record the first added. Mixed into every admin of a domain record (ScopedAdmin does)."""

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None and TOKEN_FIELD not in flatten_fieldsets(fieldsets):
            fieldsets = [*fieldsets, (None, {"fields": [TOKEN_FIELD]})]
        return fieldsets

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None or change:
            return super().get_form(request, obj, change=change, **kwargs)
        if "fields" in kwargs:
            fields = kwargs.pop("fields")
        else:
            fields = flatten_fieldsets(self.get_fieldsets(request))
        if fields is not None:
            # The token is the form's own field, not the model's: the factory must not look
            # for it on the model.
            fields = [name for name in fields if name != TOKEN_FIELD]
        return with_token(super().get_form(request, obj, change=change, fields=fields, **kwargs))

    def save_model(self, request, obj, form, change):
        if change or not hasattr(form, "token"):
            return super().save_model(request, obj, form, change)

        # Imported here because this module loads before the models are ready.
        from miiwrap.once.services import form_token_once

        def add():
            super(SentOnceAdmin, self).save_model(request, obj, form, change)
            return obj

        return form_token_once(token=form.token(), user=request.user, create=add)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if object_id is not None:
            return super().changeform_view(request, object_id, form_url, extra_context)
        from miiwrap.once.services import AlreadySent
        from miiwrap.once.shortcuts import repeated, shown_again

        changelist = reverse(self._url_name("changelist"), current_app=self.admin_site.name)
        if again := repeated(request, self._change_url, changelist):
            return again
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except AlreadySent as sent:
            return shown_again(request, sent, self._change_url, changelist)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect(request.get_full_path())

    def _url_name(self, page):
        opts = self.model._meta
        return f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_{page}"

    def _change_url(self, obj):
        return reverse(self._url_name("change"), args=[obj.pk], current_app=self.admin_site.name)


class _UsableValues:
    """Django's autocomplete widgets look up the submitted values as they are, so a form
    sent back with `²` or 2**63 in such a field crashed while showing its error. They look
    up only the values their model's key can hold; the field itself names the bad one."""

    def optgroups(self, name, value, attr=None):
        remote = self.field.remote_field
        opts, name = remote.model._meta, getattr(remote, "field_name", None)
        key = opts.get_field(name) if name else opts.pk
        usable = [v for v in value if usable_key(key, v)]
        return super().optgroups(name, usable, attr)


class UsableAutocompleteSelect(_UsableValues, AutocompleteSelect):
    pass


class UsableAutocompleteSelectMultiple(_UsableValues, AutocompleteSelectMultiple):
    pass


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


class ScopedAdmin(SentOnceAdmin, InputSafeAdmin, admin.ModelAdmin):
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


class AuditedAdmin(SimpleHistoryAdmin):
    """Adds the History page (who changed what, old → new) of a record the user may see.

    Put it after ReadOnlyAdmin / PurveyorOnlyAdmin and before ScopedAdmin, so those
    still decide what may be done. A record outside the user's rows is a 404, as on its
    change page; a deleted record's history only for those who see everything. Old
    versions are read, never restored here: a revert would skip the services' rules.
    """

    object_history_list_template = "admin/history_list.html"

    def history_view(self, request, object_id, extra_context=None):
        if not self._may_see(request, unquote(object_id)):
            raise Http404("No such record among those you may see.")
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        raise Http404("Old versions are listed on the History page; they are not restored.")

    def _may_see(self, request, pk):
        try:
            if self.get_queryset(request).filter(pk=pk).exists():
                return True
            gone = not self.model._default_manager.filter(pk=pk).exists()
        except (ValueError, TypeError, ValidationError):
            return False
        return gone and (request.user.is_superuser or viewer_for(request.user).sees_everything)


class CsvImportAdmin:
    """An import page and its example file beside a model's admin list, for the purveyor
    and organization admins (who name only their own organization's people). A subclass
    sets `import_form`, `import_template`, `import_title` and `import_columns`, and
    defines `run_import(file, *, imported_by, dry_run)`, `import_example()` and, for what
    its page shows besides, `import_context(request)`."""

    errors_shown = 1000  # a longer report says how many more there are

    def get_urls(self):
        name = f"{self.model._meta.app_label}_{self.model._meta.model_name}_import"
        view = self.admin_site.admin_view(self.import_view)
        example = self.admin_site.admin_view(self.import_example_view)
        return [
            path("import/", view, name=name),
            path("import/example.csv", example, name=f"{name}_example"),
            *super().get_urls(),
        ]

    def may_import(self, request):
        viewer = viewer_for(request.user)
        return viewer.sees_everything or "org_admin" in viewer.roles

    def import_view(self, request):
        if not self.may_import(request):
            raise PermissionDenied
        posted = request.method == "POST"
        form = self.import_form(request.POST if posted else None, request.FILES if posted else None)
        result = None
        if posted and form.is_valid():
            result = self.run_import(
                form.cleaned_data["file"],
                imported_by=request.user,
                dry_run=form.cleaned_data["dry_run"],
            )
        errors = result.errors if result else []
        ctx = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "result": result,
            "errors_shown": errors[: self.errors_shown],
            "errors_hidden": max(0, len(errors) - self.errors_shown),
            "errors_limit": self.errors_shown,
            "title": self.import_title,
            "columns": self.import_columns,
            **self.import_context(request),
        }
        return TemplateResponse(request, self.import_template, ctx)

    def import_context(self, request):
        return {}

    def import_example_view(self, request):
        if not self.may_import(request):
            raise PermissionDenied
        return self.import_example()

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "may_import": self.may_import(request)}
        return super().changelist_view(request, extra_context)
