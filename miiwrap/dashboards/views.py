import dataclasses

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils import timezone

from miiwrap import pages
from miiwrap.dashboards import capacity, coach, leader, practitioner
from miiwrap.dashboards.forms import LeaderFilterForm
from miiwrap.dashboards.tables import Table, as_csv
from miiwrap.parsing import reads
from miiwrap.people.access import viewer_for
from miiwrap.people.links import link_cells
from miiwrap.people.models import Organization, Person
from observations.models import Rubric


def _leader_organizations(user):
    """The organizations a leader's dashboard may show; 404 for anyone who leads none."""
    viewer = viewer_for(user)
    if not (viewer.sees_everything or viewer.sees_organization):
        raise Http404("The leader dashboard is for leaders and admins.")
    # The purveyor is an organization like the others: its own staff are counted too,
    # as the roster counts them.
    return list(Organization.objects.visible_to(user))


@reads("export", forms=[LeaderFilterForm])
@login_required
def leader_dashboard(request):
    organizations = _leader_organizations(request.user)
    today = organizations[0].local_today() if len(organizations) == 1 else timezone.localdate()
    form = LeaderFilterForm(
        request.GET,
        organizations=organizations,
        today=today,
        default_rubric=Rubric.objects.for_dashboards().first(),
    )
    if not form.is_valid() or not organizations:
        ctx = {"filters": {"form": form}}
        return render(request, "dashboards/leader.html", ctx, status=400)
    scope = leader.scope_from(form.cleaned_data, organizations, request.GET.get("export", ""))
    keep = leader.kept(scope)
    if scope.export:
        return _download(leader.build(scope, keep), scope.export, "leader-dashboard")
    # The form is kept with the sections: its choices are of the same organizations, and
    # what it shows chosen is in the query string the page is kept under.
    filters = {"form": form}

    def body():
        sections = leader.build(scope, keep)
        _link_people(sections, request.user)
        ctx = {"scope": scope, "filters": filters, "query": request.GET.urlencode(), **sections}
        return render_to_string("dashboards/_leader_body.html", ctx)

    ctx = {"filters": filters, "scope": scope, "body": kept_page(request, keep, body)}
    return render(request, "dashboards/leader.html", ctx)


def _purveyor_organizations(user):
    """The client organizations the purveyor compares; 404 for anyone else (a leader
    reads their own organization's capacity on their dashboard)."""
    if not viewer_for(user).sees_everything:
        raise Http404("The capacity comparison is the purveyor's.")
    return list(Organization.objects.filter(is_purveyor=False))


@reads("export")
@login_required
def capacity_comparison(request):
    organizations = _purveyor_organizations(request.user)
    today = timezone.localdate()
    sections = capacity.section(organizations, today)
    if export := request.GET.get("export"):
        return _download(sections, export, "capacity")
    _link_people(sections, request.user)
    return render(request, "dashboards/capacity.html", sections)


def kept_page(request, keep, render_body):
    """A dashboard's rendered sections for this viewer, as last rendered since the last
    write to what they read (miiwrap.pages); the sections under it are shared by every
    viewer of the scope."""
    page = pages.kept_for(request, keep.organization_ids, keep.parts)
    return page(f"{request.resolver_match.view_name}.page", render_body)


def _download(sections, key, stem):
    """The section table named `key` as CSV; 404 for a name no table has."""
    tables = [value for value in _tables(sections) if value.key == key]
    if not tables:
        raise Http404("No such table on this dashboard.")
    return as_csv(tables[0], stem)


def _link_people(sections, user):
    """Link the names in every table for this viewer (miiwrap.people.links)."""
    named = (c for table in _tables(sections) for row in table.rows for c in row if c.people)
    link_cells(named, user)


def _tables(found):
    """Every Table in the sections, however nested in dicts, lists and tuples."""
    if isinstance(found, Table):
        yield found
    elif isinstance(found, dict):
        for value in found.values():
            yield from _tables(value)
    elif isinstance(found, list | tuple):
        for value in found:
            yield from _tables(value)
    elif dataclasses.is_dataclass(found) and not isinstance(found, type):
        yield from _tables(vars(found))  # a section holding a table among its figures


def _coach_for_user(user, pk):
    """The coach whose dashboard this is: oneself, or one a leader sees; 404 otherwise."""
    viewer = viewer_for(user)
    if pk is None or pk == viewer.person_id:
        if not viewer.is_coach:
            raise Http404("The coach dashboard is for coaches.")
        return Person.objects.select_related("organization").get(pk=viewer.person_id)
    if not (viewer.sees_everything or viewer.sees_organization):
        raise Http404("Only leaders open another coach's dashboard.")
    coaches = Person.objects.visible_to(user).with_role("coach").select_related("organization")
    return get_object_or_404(coaches, pk=pk)


@reads("export")
@login_required
def coach_dashboard(request, pk=None):
    person = _coach_for_user(request.user, pk)
    is_self = person.pk == viewer_for(request.user).person_id
    found = coach.caseload_of(person)
    keep = coach.kept(person, is_self, *found)
    if export := request.GET.get("export"):
        return _download(coach.build(person, is_self, found, keep), export, "coach-dashboard")

    def body():
        sections = coach.build(person, is_self, found, keep)
        _link_people(sections, request.user)
        ctx = {"coach": person, "is_self": is_self, **sections}
        return render_to_string("dashboards/_coach_body.html", ctx)

    ctx = {"coach": person, "is_self": is_self, "body": kept_page(request, keep, body)}
    return render(request, "dashboards/coach.html", ctx)


def _practitioner_for_user(user, pk):
    """The practitioner whose view this is: oneself, or one the user sees; 404 otherwise."""
    viewer = viewer_for(user)
    pk = viewer.person_id if pk is None else pk
    if pk is None:
        raise Http404("This view is for practitioners.")
    people = Person.objects.visible_to(user).with_role("practitioner")
    return get_object_or_404(people.select_related("organization", "team"), pk=pk)


@reads("export")
@login_required
def practitioner_dashboard(request, pk=None):
    person = _practitioner_for_user(request.user, pk)
    sections = practitioner.build(person, Person.objects.signed_in_as(request.user))
    if export := request.GET.get("export"):
        return _download(sections, export, "practitioner-dashboard")
    _link_people(sections, request.user)
    ctx = {"person": person, "is_self": person.pk == viewer_for(request.user).person_id}
    return render(request, "dashboards/practitioner.html", {**ctx, **sections})
