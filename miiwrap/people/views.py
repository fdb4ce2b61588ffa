from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render

from certification.progress import person_cards
from coaching.models import Momentum, with_momentum
from miiwrap.parsing import reads
from miiwrap.people.access import viewer_for
from miiwrap.people.filters import DirectoryFilter
from miiwrap.people.models import Person


def _get_person_for_user(user, pk):
    """The person, if the user may see them; 404 otherwise, so nothing leaks."""
    return get_object_or_404(Person.objects.visible_to(user).for_directory(), pk=pk)


@login_required
def home(request):
    """Each role starts on its dashboard: leaders and admins on the organization's,
    coaches on their caseload, practitioners on where they stand."""
    viewer = viewer_for(request.user)
    if viewer.sees_everything or viewer.sees_organization:
        return redirect("dashboards:leader")
    if viewer.is_coach:
        return redirect("dashboards:coach")
    if viewer.is_practitioner:
        return redirect("dashboards:practitioner")
    if viewer.person_id:
        return redirect("people:detail", pk=viewer.person_id)
    return render(request, "people/no_access.html", status=200)


@reads("page", forms=[DirectoryFilter])
@login_required
def directory(request):
    if not viewer_for(request.user).uses_directory:
        raise Http404("The directory is for coaches, leaders and admins.")
    people = with_momentum(Person.objects.visible_to(request.user).for_directory())
    filterset = DirectoryFilter(request.GET, queryset=people, user=request.user)
    page = Paginator(filterset.qs, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    ctx = {"filter": filterset, "page": page, "query": query.urlencode()}
    return render(request, "people/directory.html", ctx)


@login_required
def detail(request, pk):
    person = _get_person_for_user(request.user, pk)
    coaches = list(person.coach_assignments.visible_to(request.user).select_related("coach"))
    viewer = viewer_for(request.user)
    ctx = {
        "person": person,
        "coaches": coaches,
        # The viewer coaches this person now, so may start an observation of them.
        "may_observe": viewer.is_coach
        and any(a.coach_id == viewer.person_id and a.is_current() for a in coaches),
        # A practitioner may not open their coach's page; name the coach without a link.
        "linkable_coach_ids": set(
            Person.objects.visible_to(request.user)
            .filter(pk__in=[a.coach_id for a in coaches])
            .values_list("pk", flat=True)
        ),
        "caseload": person.caseload_assignments.visible_to(request.user)
        .current()
        .select_related("practitioner__team"),
        "certifications": person_cards(person, Person.objects.signed_in_as(request.user)),
        "momentum": Momentum.objects.filter(person=person)
        .select_related("rubric")
        .order_by("rubric__name"),
    }
    return render(request, "people/detail.html", ctx)
