import argparse
import datetime as dt
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from certification import demo as demo_certification
from certification import jobs as certification_jobs
from coaching import demo as demo_coaching
from coaching import services as drift_services
from miiwrap import generations
from miiwrap.community import demo as demo_community
from miiwrap.implementation import demo as demo_implementation
from miiwrap.people import demo
from observations import demo as demo_observations
from observations import demo_calibration


def iso_date(text):
    try:
        return dt.date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date such as 2025-06-16.") from error


def positive(text):
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more.")
    return int(text)


def count_of(number, plural):
    """'1 team', '3 teams'; people stay people."""
    word = plural[:-1] if number == 1 and plural.endswith("s") else plural
    return f"{number} {word}"


class Command(BaseCommand):
    help = (
        "Build a believable demo world: the purveyor, client organizations, teams, people "
        "with logins, roles and coach assignments. Running it again adds nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=1, help="Same seed, same world.")
        parser.add_argument("--scale", choices=sorted(demo.SCALES), default="demo")
        parser.add_argument(
            "--orgs", type=positive, help="Number of client organizations (overrides --scale)."
        )
        parser.add_argument("--today", type=iso_date, help="Build the world as of YYYY-MM-DD.")

    def handle(self, *, seed, scale, orgs, today, **options):
        today = today or timezone.localdate()
        scale = demo.SCALES[scale]
        try:
            wanted = demo.identities(seed, orgs or scale.organizations)
        except ValueError as error:
            raise CommandError(error) from error
        started = time.monotonic()
        with transaction.atomic():
            plans = demo.build_world(wanted, seed=seed, today=today, scale=scale)
            built = time.monotonic()
            observed = demo_observations.add_observations(
                plans, seed=seed, today=today, years=scale.observation_years
            )
            observed_at = time.monotonic()
            certified = demo_certification.add_certifications(
                plans, seed=seed, today=today, years=scale.observation_years
            )
            calibrated = demo_calibration.add_calibration(plans, seed=seed, today=today)
            gathered = demo_community.add_events(plans, seed=seed, today=today)
            readiness = demo_implementation.add_readiness(plans, seed=seed, today=today)
            # Written in bulk, past the signals that tell the dashboards' cache.
            generations.touched(everyone=True)
        if plans:
            # Planner statistics for what was just bulk-loaded, so the next queries are planned
            # on real numbers rather than on an empty database's guesses.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        self.report(plans, wanted, built - started)
        self.report_observations(plans, observed, observed_at - built)
        self.report_certifications(plans, certified, time.monotonic() - observed_at)
        self.report_calibration(plans, calibrated)
        if plans:
            self.stdout.write(
                f"Learning community: {gathered['events']} events, "
                f"{gathered['registrations']:,} registrations, {gathered['attended']:,} attended."
            )
        self.report_readiness(plans, readiness)
        if plans and certified is not None:
            self.run_drift_detection(today)
            self.add_coaching_plans(plans, seed, today, scale.observation_years)
            self.run_certification_jobs(today)
        self.print_logins(demo.demo_logins(wanted[1].slug, today))

    def report(self, plans, wanted, seconds):
        if not plans:
            self.stdout.write(f"Nothing to add: all {len(wanted)} organizations are already there.")
            return
        n = {kind: count_of(number, kind) for kind, number in demo.summarize(plans).items()}
        self.stdout.write(
            f"Created {n['organizations']}, {n['teams']} and {n['people']} "
            f"({n['practitioners']}, {n['coaches']}) with {n['logins']} in {seconds:.1f} s."
        )
        if skipped := len(wanted) - len(plans):
            self.stdout.write(f"Already there: {count_of(skipped, 'organizations')}.")

    def report_observations(self, plans, observed, seconds):
        if not plans:
            return
        if observed is None:
            self.stdout.write("No observations: no published shipped rubric or activity type.")
            return
        kinds = ", ".join(f"{number:,} on the {name}" for name, number in sorted(observed.items()))
        total = sum(observed.values())
        self.stdout.write(f"Added {total:,} observations ({kinds}) in {seconds:.1f} s.")

    def report_certifications(self, plans, made, seconds):
        if not plans:
            return
        if made is None:
            self.stdout.write("No certifications: the shipped programs or rubrics are missing.")
            return
        self.stdout.write(
            f"Added {made['periods']:,} certification periods ({made['overrides']:,} carried "
            f"over or renewed by the purveyor's panel) and {made['visits']:,} certification "
            f"visits in {seconds:.1f} s."
        )

    def report_calibration(self, plans, made):
        if not plans:
            return
        if made is None:
            self.stdout.write("No calibration: the shipped fidelity tool is missing.")
            return
        self.stdout.write(
            f"Calibration: {made['cases']} master-coded cases, {made['rounds']} rounds and "
            f"{made['attempts']:,} coaches' scored cases; {made['co-observed']:,} visits "
            f"co-observed; {made['rater alerts']} coach(es) drifting from the master codes."
        )

    def report_readiness(self, plans, made):
        if not plans or made is None:
            return
        self.stdout.write(
            f"Readiness: {made['assessments']} assessments and {made['actions']} alignment "
            f"actions ({made['done']} done, {made['overdue']} overdue)."
        )

    def run_drift_detection(self, today):
        """What the nightly drift job would have found by today: alerts and momentum.
        Before the certification job, whose leaders' digests then carry the alerts."""
        started = time.monotonic()
        report = drift_services.drift_detect(today=today)
        raised = sum(report.raised.values())
        self.stdout.write(
            f"Raised {raised:,} drift alerts ({report.raised.get('person', 0):,} about "
            f"practitioners) and read the momentum of {report.momentum_written:,} series in "
            f"{time.monotonic() - started:.1f} s."
        )

    def add_coaching_plans(self, plans, seed, today, years):
        """After the drift job's first night, so plans can answer its alerts."""
        started = time.monotonic()
        with transaction.atomic():
            made = demo_coaching.add_plans(plans, seed=seed, today=today, years=years)
        if made is None:
            self.stdout.write("No coaching plans: the shipped fidelity tool is missing.")
            return
        closed = count_of(made["plans closed"], "plans")
        self.stdout.write(
            f"Started {made['plans']:,} coaching plans ({made['slipping']:,} for slipping "
            f"practitioners, {made['struggling']:,} for struggling, {made['steady']:,} for "
            f"steady) with {made['sessions']:,} sessions and {made['comments']:,} comments; "
            f"{made['goals met']:,} goals met, {made['goals dropped']:,} dropped, "
            f"{closed} closed in {time.monotonic() - started:.1f} s."
        )

    def run_certification_jobs(self, today):
        """What the daily job would have recorded by today: windows opened, expiries and
        lapses, and today's reminders, left for the worker to send."""
        started = time.monotonic()
        report = certification_jobs.run(today=today, send=False)
        self.stdout.write(
            f"Recorded {sum(report.transitions.values()):,} certification transitions and "
            f"queued {report.reminders:,} reminders for the worker to send in "
            f"{time.monotonic() - started:.1f} s."
        )

    def print_logins(self, logins):
        rows = [("Role", "Email", "Password")]
        rows += [(label, email, demo.PASSWORD) for label, email in logins]
        widths = [max(len(row[column]) for row in rows) for column in range(2)]
        self.stdout.write("\nDemo logins:")
        for label, email, password in rows:
            self.stdout.write(f"  {label:<{widths[0]}}  {email:<{widths[1]}}  {password}")
