"""The admin site, opened to purveyor admins and scoped for organization admins.

Access in the admin follows the same `visible_to(user)` rules as every page.
Purveyor admins manage everything; organization admins manage their own
organization's people, roles, teams and coach assignments, and nothing else.
"""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.http import Http404
from simple_history.admin import SimpleHistoryAdmin

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


class ScopedAdmin(admin.ModelAdmin):
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


class PurveyorOnlyAdmin:
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
