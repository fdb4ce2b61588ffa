"""The main navigation: a few menus named for what a person came to do, each holding the
pages their roles open. New sections join a menu, so the bar stays on one row.

A menu a viewer can open only one page of is drawn as that page's plain link.
"""

import functools
from dataclasses import dataclass

from django.urls import get_script_prefix, reverse


@dataclass(frozen=True)
class Link:
    label: str
    url: str
    active: bool = False


@dataclass(frozen=True)
class Menu:
    label: str
    links: tuple

    @property
    def active(self):
        return any(link.active for link in self.links)

    @property
    def single(self):
        """The one link to draw instead of a menu, or None."""
        return self.links[0] if len(self.links) == 1 else None

    @property
    def key(self):
        return self.label.lower().replace(" ", "-")


def _here(match):
    """(view name, app name, route) of the page being shown; blanks outside any route."""
    if match is None:
        return "", "", ""
    return match.view_name, match.app_name, match.route


def menus(viewer, match):
    """The menus for this viewer, in order, with empty ones left out."""
    active = _active(*_here(match))
    found = []
    for label, entries in _entries(viewer):
        links = tuple(
            Link(name, _url(url_name, get_script_prefix()), url_name in active)
            for shown, name, url_name in entries
            if shown
        )
        if links:
            found.append(Menu(label, links))
    return found


@functools.cache
def _url(url_name, prefix):
    """A menu page's address, worked out once a process (and script prefix): every page
    draws the menus, and reversing a dozen names was a millisecond of each request."""
    return reverse(url_name)


def _entries(viewer):
    """(menu, [(shown to this viewer?, label, URL name)]), grouped by purpose."""
    leads = viewer.sees_everything or viewer.sees_organization
    anyone = bool(viewer.person_id) or viewer.sees_everything
    return [
        (
            "Dashboards",
            [
                (leads, "Dashboard", "dashboards:leader"),
                (viewer.is_coach, "Caseload", "dashboards:coach"),
                (viewer.is_practitioner, "Where I stand", "dashboards:practitioner"),
            ],
        ),
        ("People", [(viewer.uses_directory, "People", "people:directory")]),
        (
            "Observations",
            [
                (anyone, "Observations", "observations:list"),
                (viewer.is_coach, "New observation", "observations:new"),
                (viewer.uses_directory, "Disputes", "observations:disputes"),
                (viewer.is_coach or leads, "Calibration", "observations:calibration"),
                (leads, "Reliability", "observations:reliability"),
            ],
        ),
        (
            "Coaching",
            [
                (anyone, "Plans", "coaching:plans"),
                (viewer.uses_directory, "Alerts", "coaching:alerts"),
                # The learning community builds skill too; its own menu would not fit the bar.
                (anyone, "Events", "community:list"),
            ],
        ),
        (
            "Certification",
            [
                (leads, "Rosters", "certification:index"),
                (viewer.sees_everything or viewer.is_coach, "Decisions", "certification:queue"),
                (viewer.uses_admin, "Reminder log", "certification:reminders"),
                # Whose certified coaches observe: each organization's against the others.
                (viewer.sees_everything, "Internal capacity", "dashboards:capacity"),
            ],
        ),
        ("Admin", [(viewer.uses_admin, "Admin", "admin:index")]),
    ]


def _active(view, app, route):
    """The URL names of the links that lead to (the section of) the page being shown."""
    if app == "community":
        return {"community:list"}
    if app == "people":
        return {"people:directory"}  # a person's page and the new hires are the directory's
    if app == "coaching":
        return {"coaching:alerts" if "alerts/" in route else "coaching:plans"}
    if app == "observations" and ("calibration/" in route or "co-observations/" in route):
        return {"observations:calibration"}
    if app == "certification":
        own_link = view in ("certification:queue", "certification:reminders")
        return {view if own_link else "certification:index"}
    return {view}
