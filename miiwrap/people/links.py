"""Where a person's name links, for the one reading the page.

Every name on every page goes through `Reach.url`, so the rule is stated once:

- Nobody the viewer may not see is linked (their pages would answer 404): the name is
  plain text. Who may be seen is Person.objects.visible_to, read once a request.
- One's own name opens one's own page.
- For those who oversee (leaders, organization admins, the purveyor), a coach's name
  opens the coach's dashboard, a practitioner's the practitioner's view.
- For a coach, a practitioner they see (their caseload) opens the practitioner's view.
- Anyone else seen opens the person page.

A page about practitioners may ask for their view first (`prefer="practitioner"`): a
coach who also practises then opens as a practitioner there and as a coach elsewhere.
The pages named here open for exactly these viewers (miiwrap.dashboards.views), which the
tests check by following every person link on each persona's pages.
"""

from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils.html import format_html

from miiwrap.people.access import viewer_for

COACH, PRACTITIONER = "coach", "practitioner"
# What a name reads when its person is gone (deleted, or never there).
GONE = "someone no longer on record"
# An id no path holds otherwise, resolved in its place to find where ids go.
_MARK = 987654321


class Reach:
    """Which pages about people one viewer may open: one query, on first use."""

    def __init__(self, user):
        self.user = user
        self.viewer = viewer_for(user)
        self._loaded = False
        self._only = None  # the ids read, when primed with the few a page names
        self._urls = {}
        self._paths = {}  # {page name: its path before and after the id}

    def prime(self, person_ids):
        """Read only these people, when they are the names a page links: a purveyor's page
        of fifty names then reads fifty rows, not every coach in the state. A name outside
        them still has everyone read, when it is asked for."""
        if not self._loaded:
            self._read(set(person_ids))

    def url(self, person_id, prefer=None):
        """The most useful page about the person for this viewer; None if none opens.
        Worked out once a person: a dashboard names a coach in several of its tables."""
        key = (person_id, prefer)
        if key not in self._urls:
            self._urls[key] = self._url(person_id, prefer)
        return self._urls[key]

    def _url(self, person_id, prefer):
        if person_id is None or not self.sees(person_id):
            return None
        if person_id == self.viewer.person_id:
            return self._path("people:detail", person_id)
        order = (PRACTITIONER, COACH) if prefer == PRACTITIONER else (COACH, PRACTITIONER)
        for page in order:
            if self._opens(page, person_id):
                return self._path(f"dashboards:{page}", person_id)
        return self._path("people:detail", person_id)

    def _path(self, name, person_id):
        """reverse(name, args=[person_id]), resolving each page once: the purveyor's
        comparison links over a thousand names, and resolving each was half the linking."""
        if name not in self._paths:
            self._paths[name] = reverse(name, args=[_MARK]).split(str(_MARK))
        head, tail = self._paths[name]
        return f"{head}{int(person_id)}{tail}"

    def link(self, person_id, name, prefer=None):
        """The name as HTML, linked when a page about them opens for this viewer."""
        href = self.url(person_id, prefer)
        if href is None:
            return format_html("{}", name)
        return format_html('<a href="{}">{}</a>', href, name)

    def sees(self, person_id):
        if not self._loaded or (self._only is not None and person_id not in self._only):
            self._read(None)
        return self._seen is None or person_id in self._seen

    def _opens(self, page, person_id):
        viewer = self.viewer
        oversees = viewer.sees_everything or viewer.sees_organization
        if page == COACH:
            return oversees and person_id in self._coaches
        return (oversees or viewer.is_coach) and person_id not in self._not_practising

    def _read(self, only):
        """The ids seen (of `only`, if given), and among them who coaches and who does not
        practise. The purveyor sees everyone: read whole, only those exceptions are read,
        not every id there is."""
        from miiwrap.people.models import Person, RoleGrant

        grants = RoleGrant.objects.filter(person=OuterRef("pk"))
        people = Person.objects.visible_to(self.user).annotate(
            coaches=Exists(grants.filter(role=COACH)),
            practises=Exists(grants.filter(role=PRACTITIONER)),
        )
        everyone = self.viewer.sees_everything and only is None
        if only is not None:
            people = people.filter(pk__in=sorted(only))
        elif everyone:
            people = people.filter(Q(coaches=True) | Q(practises=False))
        rows = list(people.order_by().values_list("pk", "coaches", "practises"))
        self._seen = None if everyone else {pk for pk, _, _ in rows}
        self._coaches = {pk for pk, coaches, _ in rows if coaches}
        self._not_practising = {pk for pk, _, practises in rows if not practises}
        self._only, self._loaded = only, True


def reach_for(user):
    """The Reach of a user, kept on the user object: read once a request."""
    if user is None:
        return Reach(None)
    cached = getattr(user, "_miiwrap_reach", None)
    if cached is None:
        cached = Reach(user)
        user._miiwrap_reach = cached
    return cached


def link_cells(cells, user):
    """Give each dashboard Cell naming people (`Cell.people`) its links for this user,
    reading only the people the cells name: a purveyor's page names a few hundred, not
    the state's staff."""
    cells = list(cells)
    reach = reach_for(user)
    reach.prime(pk for cell in cells for pk, _ in cell.people)
    for cell in cells:
        cell.hrefs = [reach.url(pk, cell.prefer) for pk, _ in cell.people]
