from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group

from miiwrap.admin import AuditedAdmin, PurveyorOnlyAdmin, ScopedAdmin, SentOnceAdmin
from miiwrap.people.access import viewer_for
from miiwrap.people.models import (
    Organization,
    Person,
    Role,
    RoleGrant,
    RolePeriod,
    Team,
    TeamMembership,
)
from miiwrap.people.services import person_periods_sync


@admin.register(Organization)
class OrganizationAdmin(AuditedAdmin, ScopedAdmin):
    list_display = ["name", "slug", "time_zone", "is_purveyor"]
    list_filter = ["is_purveyor", "time_zone"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Team)
class TeamAdmin(AuditedAdmin, ScopedAdmin):
    org_admin_can = frozenset({"view", "add", "change"})
    list_display = ["name", "organization"]
    list_filter = [("organization", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "organization__name"]
    list_select_related = ["organization"]


class RoleGrantInline(admin.TabularInline):
    model = RoleGrant
    extra = 1

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "role" and not viewer_for(request.user).sees_everything:
            # Only the purveyor makes purveyor admins. get_choices() keeps the blank
            # first choice, so the spare row starts empty instead of granting a role.
            choices = db_field.get_choices(include_blank=True)
            kwargs["choices"] = [c for c in choices if c[0] != Role.PURVEYOR_ADMIN]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def has_add_permission(self, request, obj=None):
        return self.admin_site._registry[Person].has_change_permission(request, obj)

    has_change_permission = has_add_permission
    has_delete_permission = has_add_permission

    def has_view_permission(self, request, obj=None):
        return self.admin_site._registry[Person].has_view_permission(request, obj)


class PeriodInline(admin.TabularInline):
    """Who held which team or role when: kept by miiwrap.people.services from the team
    and roles above, so shown, never edited here."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return self.admin_site._registry[Person].has_view_permission(request, obj)


class TeamMembershipInline(PeriodInline):
    model = TeamMembership
    fields = readonly_fields = ["team", "starts_on", "ends_on"]
    verbose_name_plural = "team history"


class RolePeriodInline(PeriodInline):
    model = RolePeriod
    fields = readonly_fields = ["role", "starts_on", "ends_on"]
    verbose_name_plural = "role history"


class RoleFilter(admin.SimpleListFilter):
    title = "role"
    parameter_name = "role"

    def lookups(self, request, model_admin):
        return Role.choices

    def queryset(self, request, queryset):
        return queryset.with_role(self.value()) if self.value() else queryset


@admin.register(Person)
class PersonAdmin(AuditedAdmin, ScopedAdmin):
    org_admin_can = frozenset({"view", "add", "change"})
    list_display = [
        "__str__",
        "email",
        "staff_id",
        "organization",
        "team",
        "hire_date",
        "leave_date",
    ]
    # RelatedOnly: choices come from the scoped rows, so no other organization is named.
    list_filter = [
        RoleFilter,
        ("organization", admin.RelatedOnlyFieldListFilter),
        ("team", admin.RelatedOnlyFieldListFilter),
        ("leave_date", admin.EmptyFieldListFilter),
    ]
    search_fields = ["first_name", "last_name", "email", "staff_id"]
    list_select_related = ["organization", "team"]
    inlines = [RoleGrantInline, TeamMembershipInline, RolePeriodInline]

    def get_inlines(self, request, obj):
        # A person being added has no history yet.
        return self.inlines if obj is not None else [RoleGrantInline]

    date_hierarchy = "hire_date"

    def get_readonly_fields(self, request, obj=None):
        # Logins are linked by the purveyor; an organization admin would otherwise
        # be able to attach any account to their own staff.
        if viewer_for(request.user).sees_everything:
            return []
        return ["user"]

    def get_autocomplete_fields(self, request):
        return ["user"] if viewer_for(request.user).sees_everything else []

    def save_related(self, request, form, formsets, change):
        # After the role inline is saved: the periods follow the team and roles as saved.
        super().save_related(request, form, formsets, change)
        _sync_periods(form.instance, new=not change)


def _sync_periods(person, new=False):
    """A new person's team and roles held from their hire; a change holds from today
    where they work."""
    on = person.hire_date if new else person.organization.local_today()
    person_periods_sync(person=person, on=on)


@admin.register(RoleGrant)
class RoleGrantAdmin(AuditedAdmin, ScopedAdmin):
    list_display = ["person", "role", "granted_at"]
    list_filter = ["role", ("person__organization", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["person__first_name", "person__last_name", "person__email"]
    list_select_related = ["person"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        _sync_periods(obj.person)

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        _sync_periods(obj.person)

    def delete_queryset(self, request, queryset):
        people = list(Person.objects.filter(roles__in=queryset).distinct())
        super().delete_queryset(request, queryset)
        for person in people:
            _sync_periods(person)


User = get_user_model()
admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class ScopedUserAdmin(SentOnceAdmin, PurveyorOnlyAdmin, UserAdmin):
    pass


@admin.register(Group)
class ScopedGroupAdmin(SentOnceAdmin, PurveyorOnlyAdmin, GroupAdmin):
    pass
