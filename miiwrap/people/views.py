from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from certification.models import CertificationPeriod
from certification.progress import person_cards
from coaching.models import (
    CoachAssignment,
    CoachingPlan,
    Momentum,
    TrainerAssignment,
    with_alert_seen,
    with_momentum,
)
from miiwrap import audit
from miiwrap.community.models import Attendance
from miiwrap.dashboards import learning_path
from miiwrap.parsing import local_path, reads
from miiwrap.people import capacity, second_factor
from miiwrap.people.access import viewer_for
from miiwrap.people.filters import DirectoryFilter
from miiwrap.people.forms import CodeForm
from miiwrap.people.models import Organization, Person, RoleGrant
from observations.models import Observation

EVENTS = 25  # the latest events on a person's page


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
        # For a coach: the trainers who observe their coaching.
        "trainers": person.trainer_assigned.visible_to(request.user).select_related("trainer"),
        "caseload": person.caseload_assignments.visible_to(request.user)
        .current()
        .select_related("practitioner__team"),
        "certifications": person_cards(person, Person.objects.signed_in_as(request.user)),
        "momentum": with_alert_seen(
            Momentum.objects.filter(person=person).select_related("rubric"), request.user
        ).order_by("rubric__name"),
        "history": _history(person, request.user),
        "plans": CoachingPlan.objects.visible_to(request.user).filter(practitioner=person),
        # A draft is its author's alone: listed on their own page, to go on with.
        "drafts": Observation.objects.drafts_of(person) if person.pk == viewer.person_id else (),
        "events": Attendance.objects.visible_to(request.user).for_person_page(person)[:EVENTS],
        "learning_path": learning_path.for_person(person, person.organization.local_today()),
    }
    return render(request, "people/detail.html", ctx)


def _new_hires_scope(user):
    """(organizations, people or None for all of theirs) whose new hires the user sees:
    the purveyor every organization's, leaders and admins their own's, a coach their
    caseload's; 404 for anyone else."""
    viewer = viewer_for(user)
    if viewer.sees_everything or viewer.sees_organization:
        return list(Organization.objects.visible_to(user)), None
    if not viewer.is_coach:
        raise Http404("The new hires are for coaches, leaders and admins.")
    people = Person.objects.visible_to(user).values("pk")
    return list(Organization.objects.filter(people__in=people).distinct()), people


@login_required
def new_hires(request):
    organizations, people = _new_hires_scope(request.user)
    one = len(organizations) == 1
    today = organizations[0].local_today() if one else timezone.localdate()
    groups, deadline = learning_path.new_hires(organizations, today, people)
    ctx = {"groups": groups, "deadline": deadline, "today": today, "grouped": not one}
    ctx["hire_days"] = capacity.NEW_HIRE_DAYS
    return render(request, "people/new_hires.html", ctx)


def _history(person, user):
    """Changes to the person, their roles, the coach assignments the viewer may see and
    their certifications: who made each, when, and what it said before."""
    theirs = Q(practitioner_id=person.pk) | Q(coach_id=person.pk)
    assignments = audit.history_of(CoachAssignment).filter(theirs)
    viewer = viewer_for(user)
    if not (viewer.sees_everything or viewer.sees_organization):
        seen = CoachAssignment.objects.visible_to(user).filter(theirs).values("pk")
        assignments = assignments.filter(id__in=seen)
    trained = audit.history_of(TrainerAssignment).filter(
        Q(trainer_id=person.pk) | Q(coach_id=person.pk)
    )
    if not (viewer.sees_everything or viewer.sees_organization):
        seen = TrainerAssignment.objects.visible_to(user).filter(
            Q(trainer_id=person.pk) | Q(coach_id=person.pk)
        )
        trained = trained.filter(id__in=seen.values("pk"))
    records = [
        *audit.history_of(Person, id=person.pk),
        *audit.history_of(RoleGrant, person_id=person.pk),
        *assignments,
        *trained,
        *audit.history_of(CertificationPeriod, person_id=person.pk),
    ]
    return audit.trail(records, subject=_subject, hide={"evidence", "verification_code"})


def _subject(record):
    """What a history row on the person page is about, without reading other rows."""
    kind = record.instance_type
    if kind is RoleGrant:
        return f"Role: {record.get_role_display()}"
    if kind is CoachAssignment:
        return f"Coach assignment from {record.starts_on:%Y-%m-%d}"
    if kind is TrainerAssignment:
        return f"Trainer assignment from {record.starts_on:%Y-%m-%d}"
    if kind is CertificationPeriod:
        return f"Certification from {record.valid_from:%Y-%m-%d}"
    return "Details"


def _next_or_home(request):
    target = request.POST.get("next") or request.GET.get("next")
    return local_path(request, target) or reverse("home")


@login_required
def second_factor_verify(request):
    """After the password, the code from the app, for someone who has set one up."""
    device = second_factor.confirmed_device(request.user)
    if not second_factor.code_owed(request) or device is None:
        return redirect(_next_or_home(request))
    form = CodeForm(request.POST or None, device=device)
    if form.is_bound and form.is_valid():
        otp_login(request, device)
        request.session.pop(second_factor.PENDING, None)
        return redirect(_next_or_home(request))
    ctx = {"form": form, "next": _next_or_home(request)}
    return render(request, "registration/second_factor_verify.html", ctx)


@login_required
def second_factor_setup(request):
    """Turn the second step on: scan the QR code (or type the key), then confirm a code."""
    if not second_factor.offered_to(request.user):
        raise Http404("A second sign-in step is for those who decide or administer.")
    if second_factor.confirmed_device(request.user) is not None:
        return _second_factor_on(request)
    device = second_factor.device_to_confirm(request.user)
    form = CodeForm(request.POST or None, device=device)
    if form.is_bound and form.is_valid():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        otp_login(request, device)
        messages.success(request, "The second sign-in step is on.")
        return redirect("home")
    ctx = {
        "form": form,
        "qr": second_factor.qr_data_uri(device),
        "secret": second_factor.secret_for_typing(device),
        "required": second_factor.required_for(request.user),
    }
    return render(request, "registration/second_factor_setup.html", ctx)


def _second_factor_on(request):
    """The page when the step is on: turning it off takes a current code."""
    device = second_factor.confirmed_device(request.user)
    required = second_factor.required_for(request.user)
    form = CodeForm(request.POST or None, device=device)
    if form.is_bound and not required and form.is_valid():
        TOTPDevice.objects.filter(user=request.user).delete()
        messages.success(request, "The second sign-in step is off.")
        return redirect("second_factor")
    ctx = {"form": form, "required": required}
    return render(request, "registration/second_factor_on.html", ctx)
