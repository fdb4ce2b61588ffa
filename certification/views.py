from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_POST

from certification import exports, progress, qr, reminder_log, services
from certification import roster as standings
from certification.forms import DecisionForm, QueueFilter, RevokeForm, RosterFilter
from certification.models import CertificationPeriod, Program, could_be_ready, on_roster
from miiwrap import pages
from miiwrap.forms import add_service_errors
from miiwrap.notifications import delivery
from miiwrap.once.services import AlreadySent, form_token_once
from miiwrap.once.shortcuts import shown_again
from miiwrap.parsing import local_path, reads
from miiwrap.people.access import viewer_for
from miiwrap.people.links import reach_for
from miiwrap.people.models import Organization, Person, todays_by_zone


def _todays(user):
    zones = Organization.objects.visible_to(user).values_list("time_zone", flat=True).distinct()
    return todays_by_zone(set(zones))


def _decides(viewer):
    """Coaches (once certified) and the purveyor decide certifications; others never do."""
    return viewer.sees_everything or viewer.is_coach


@login_required
def index(request):
    viewer = viewer_for(request.user)
    first = Program.objects.first()
    if (viewer.sees_everything or viewer.sees_organization) and first is not None:
        return redirect(first)
    if _decides(viewer):
        return redirect("certification:queue")
    raise Http404("Certification pages are for leaders, admins and certifiers.")


# The roster -------------------------------------------------------------------------------


@reads("format", "page", forms=[RosterFilter])
@login_required
def roster(request, code):
    """Everyone's standing in one program, for leaders and admins; `?format=csv` downloads."""
    viewer = viewer_for(request.user)
    if not (viewer.sees_everything or viewer.sees_organization):
        raise Http404("The roster is for leaders and admins.")
    program = get_object_or_404(Program, code=code)
    people = on_roster(Person.objects.visible_to(request.user), program)
    filterset = RosterFilter(request.GET, queryset=people, user=request.user)
    chosen = filterset.form.cleaned_data if filterset.is_valid() else {}

    # Every organization's roster is most of the periods there are: read them in one pass.
    few = not viewer.sees_everything or bool(chosen.get("organization"))

    def read_everyone():
        ruled = Program.objects.with_rules().get(pk=program.pk)  # read only when computed
        return standings.standings(filterset.qs, ruled, few=few)

    def matching(rows):
        return standings.matching(rows, chosen.get("state"), chosen.get("expires"))

    if request.GET.get("format") == "csv" and filterset.is_valid():
        # Read once the download has begun: its first line goes out at once.
        return exports.roster_csv(lambda: matching(read_everyone()), program)

    def body():
        everyone = read_everyone()
        page = Paginator(matching(everyone), 50).get_page(request.GET.get("page"))
        standings.with_momentum(standings.with_people(page.object_list))
        # The names the page links are its rows' people: only those are read.
        reach_for(request.user).prime(row.person_id for row in page.object_list)
        query = request.GET.copy()
        query.pop("page", None)
        query.pop("format", None)
        ctx = {
            "program": program,
            "programs": Program.objects.all(),
            "filter": filterset,
            "page": page,
            "query": query.urlencode(),
            "counts": standings.counts(everyone),
        }
        return render_to_string("certification/_roster_body.html", ctx, request)

    # Kept for this viewer until a write to what it reads (people, their roles, periods
    # and momentum; the program and its rules): everyone's standing is one statement over
    # every person on it, the roster's page its first 50 (miiwrap.pages). Also under each
    # organization's local date, on which states turn.
    seen = Organization.objects.visible_to(request.user).values_list("pk", "time_zone")
    seen = list(seen.order_by("pk"))
    todays = todays_by_zone({zone for _, zone in seen})
    keep = pages.kept_for(request, [pk for pk, _ in seen], (program.pk, sorted(todays.items())))
    shown = keep("certification.roster", body)
    return render(request, "certification/roster.html", {"program": program, "body": shown})


# The decision queue ------------------------------------------------------------------------


@reads("page", forms=[QueueFilter])
@login_required
def queue(request):
    """Everyone the signed-in certifier sees whose evidence now meets a program's rule."""
    decider = Person.objects.signed_in_as(request.user)
    if decider is None or not _decides(viewer_for(request.user)):
        raise Http404("Decisions are made by certifiers on the staff record.")
    programs = list(Program.objects.decidable_by(decider, decider.organization.local_today()))
    purveyor = viewer_for(request.user).sees_everything
    form = QueueFilter(request.GET or None, programs=programs, purveyor=purveyor)
    ctx = {"programs": programs, "form": form, "page": None}
    if programs and (not form.is_bound or form.is_valid()):
        chosen = form.cleaned_data if form.is_bound else {}
        program = _chosen_program(programs, chosen.get("program"))
        people = Person.objects.visible_to(request.user).exclude(pk=decider.pk)
        if chosen.get("organization"):
            people = people.filter(organization=chosen["organization"])
        todays = _todays(request.user)

        def ready():
            staff = on_roster(people, program).filter(
                Q(leave_date=None) | Q(leave_date__gte=min(todays.values()))
            )
            rows = could_be_ready(staff, program, todays).select_related("organization", "team")
            return progress.ready(rows, program)

        # Kept until a write anywhere (miiwrap.generations): whose evidence is ready reads
        # observations by coaches of other organizations and those coaches' certifications,
        # so every organization's generation names it, as does the certifier and the day.
        everywhere = Organization.objects.values_list("pk", flat=True)
        # Only the page asked for is kept (the query string, page number included, is in
        # the key): a state's queue is hundreds of cards, and reading them all back cost
        # more than rendering the fifty shown.
        keep = pages.kept_for(request, list(everywhere), (program.pk, sorted(todays.items())))

        def ready_page():
            shown = Paginator(ready(), 50).get_page(request.GET.get("page"))
            return shown.paginator.count, shown.number, list(shown.object_list)

        total, number, cards = keep("certification.queue_page", ready_page)
        page = Page(cards, number, Paginator(range(total), 50))
        query = request.GET.copy()
        query.pop("page", None)
        # The names the page links are its cards' people: only those are read.
        reach_for(request.user).prime(card.person.pk for card in page.object_list)
        ctx.update(program=program, page=page, query=query.urlencode())
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "certification/queue.html", ctx, status=status)


def _chosen_program(programs, code):
    chosen = next((p for p in programs if p.code == code), programs[0])
    return Program.objects.with_rules().get(pk=chosen.pk)


# Decisions ---------------------------------------------------------------------------------


def _decision_setup(request, person_pk, program):
    """(person, decider) when the signed-in user may decide this person's certification in
    `program`; 404 otherwise, so a page never says who exists."""
    people = Person.objects.visible_to(request.user).select_related("organization", "team")
    person = get_object_or_404(people, pk=person_pk)
    decider = Person.objects.signed_in_as(request.user)
    if program.decider_problem(decider, person, person.organization.local_today()):
        raise Http404("You do not decide this certification.")
    return person, decider


def _back(request, fallback):
    """Where to go after a decision: a safe `next` from the form, or the person's page."""
    return redirect(local_path(request, request.POST.get("next")) or fallback)


@login_required
def decide(request, pk, code):
    """Certify or recertify one person: their progress, the evidence, and the decision form."""
    program = get_object_or_404(Program.objects.with_rules(), code=code)
    person, decider = _decision_setup(request, pk, program)
    today = person.organization.local_today()
    form = DecisionForm(
        request.POST if request.method == "POST" else None, initial={"decided_on": today}
    )
    if form.is_bound and form.is_valid():
        try:
            period = form_token_once(
                token=form.token(),
                user=request.user,
                create=lambda: services.certification_decide(
                    person=person,
                    program=program,
                    decided_by=decider,
                    decided_on=form.cleaned_data["decided_on"] or today,
                    override_reason=form.cleaned_data["override_reason"],
                    backdate_reason=form.cleaned_data["backdate_reason"],
                ),
            )
        except AlreadySent as sent:
            return shown_again(request, sent, lambda _: _back(request, person).url, person)
        except ValidationError as error:
            add_service_errors([form], error)
        else:
            verb = "Recertified" if period.is_renewal else "Certified"
            messages.success(
                request, f"{verb} {person} in {program} until {period.valid_until:%Y-%m-%d}."
            )
            return _back(request, person)
    ctx = {"person": person, "program": program, "card": progress.card(person, program)}
    ctx["form"] = form
    return render(request, "certification/decide.html", ctx, status=400 if form.errors else 200)


@login_required
def revoke(request, pk):
    periods = CertificationPeriod.objects.visible_to(request.user).select_related(
        "program", "person__organization"
    )
    period = get_object_or_404(periods, pk=pk)
    person, decider = _decision_setup(request, period.person_id, period.program)
    form = RevokeForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            form_token_once(
                token=form.token(),
                user=request.user,
                create=lambda: services.certification_revoke(
                    period=period, revoked_by=decider, reason=form.cleaned_data["reason"]
                ),
            )
        except AlreadySent as sent:
            return shown_again(request, sent, lambda _: person.get_absolute_url(), person)
        except ValidationError as error:
            add_service_errors([form], error)
        else:
            messages.success(request, f"{person}'s {period.program} certification is revoked.")
            return redirect(person)
    ctx = {"period": period, "person": person, "form": form}
    return render(request, "certification/revoke.html", ctx, status=400 if form.errors else 200)


# The reminder log --------------------------------------------------------------------------


def _admins_only(request):
    if not viewer_for(request.user).uses_admin:
        raise Http404("The reminder log is for administrators.")


def _log_filter(request, every_kind=False):
    log = reminder_log.log(request.user, every_kind)
    return reminder_log.LogFilter(request.GET, queryset=log, user=request.user)


@reads("show", "page", forms=[reminder_log.LogFilter])
@login_required
def reminders(request):
    """Reminders sent, failed (to send again) and coming: `?show=sent|failed|scheduled`."""
    _admins_only(request)
    show = request.GET.get("show")
    show = show if show in reminder_log.TABS else "sent"
    filterset = _log_filter(request, every_kind=show == "failed")
    rows = reminder_log.tab(show, filterset, request.user)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    page.object_list = reminder_log.shown(show, page.object_list)
    query = request.GET.copy()
    query.pop("page", None)
    filters = query.copy()
    filters.pop("show", None)
    ctx = {"show": show, "tabs": reminder_log.TABS, "filter": filterset, "page": page}
    ctx.update(query=query.urlencode(), filters=filters.urlencode())
    ctx["failed_count"] = reminder_log.gave_up(_log_filter(request, every_kind=True).qs)
    status = 400 if filterset.form.errors else 200
    return render(request, "certification/reminder_log.html", ctx, status=status)


@login_required
@require_POST
def retry_reminder(request, pk):
    """Send one failed reminder or digest again."""
    _admins_only(request)
    one = reminder_log.log(request.user, every_kind=True).filter(pk=pk)
    get_object_or_404(one)
    return _retried(request, one)


@login_required
@require_POST
def retry_failed(request):
    """Send again every failed reminder and digest the admin sees under the filters."""
    _admins_only(request)
    filterset = _log_filter(request, every_kind=True)
    # A filter that does not parse chooses nothing, rather than everything.
    return _retried(request, filterset.qs if filterset.is_valid() else filterset.qs.none())


def _retried(request, notifications):
    count = delivery.retry(notifications)
    if count:
        emails = "1 email" if count == 1 else f"{count} emails"
        messages.success(request, f"{emails} will be sent again.")
    else:
        messages.info(request, "Nothing to send again: no failed emails among those chosen.")
    query = request.GET.copy()
    query["show"] = "failed"
    return redirect(f"{reverse('certification:reminders')}?{query.urlencode()}")


# Certificates ------------------------------------------------------------------------------


@login_required
def certificate(request, pk):
    """A printable certificate for a period the user may see, with its verification link."""
    periods = CertificationPeriod.objects.visible_to(request.user).select_related(
        "program", "person__organization", "decided_by"
    )
    period = get_object_or_404(periods, pk=pk)
    url = request.build_absolute_uri(period.verification_url())
    ctx = {"period": period, "verification_url": url, "qr_svg": qr.svg(url)}
    return render(request, "certification/certificate.html", ctx)


def verify(request, code):
    """Open to anyone with the link: is this certificate valid today?"""
    periods = CertificationPeriod.objects.select_related("program", "person__organization")
    period = get_object_or_404(periods, verification_code=code)
    today = period.person.organization.local_today()
    later = (
        CertificationPeriod.objects.filter(
            person=period.person_id, program=period.program_id, valid_from__gt=period.valid_from
        )
        .order_by("-valid_until")
        .first()
    )
    ctx = {"period": period, "state": period.state_on(today), "today": today, "later": later}
    return render(request, "certification/verify.html", ctx)
