"""The hostile-input sweep: every page, as every kind of user, with bad values everywhere.

Pages come from the URL configuration (the admin's included). A page whose path takes
arguments is reached with real ones found by following the links each user sees, and with
hostile ones in their place. Each page is then asked again with each hostile value in each
parameter it reads: those its view declares with miiwrap.parsing.reads, and those its own
links and forms use (the admin's filters, search and sort). Every POST form on the page is
sent back with hostile values in its fields. No answer may be a 5xx.

Each request runs in a savepoint that is rolled back, so a POST changes nothing for the next
one and the sweep leaves the database as it found it.
"""

import csv
import io
import re
import traceback
from dataclasses import dataclass, field
from functools import cached_property
from html.parser import HTMLParser
from urllib.parse import quote, urlencode, urlsplit

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern

from miiwrap.parsing import declared_parameters

HOSTILE = [
    "²",  # str.isdigit() says yes, int() says no
    "٣",  # an Arabic-Indic three: int() reads it, a URL int converter does not
    "\x00",
    "1\x00",
    "-1",
    "0",
    str(2**63),  # one past the largest bigint
    "9" * 40,
    "9999-12-31",
    "0001-01-01",
    "0002-01-01",
    "2025-02-30",
    "x" * 10_000,
    "'\"<>%;--",
    "1e999",
    "   ",
]
# Path arguments: what an int converter accepts but no row has, and text for the others.
HOSTILE_IDS = ["0", str(2**63 - 1), str(2**63), "9" * 40]
# Following these would end the session or change who is signed in.
NEVER_FOLLOW = re.compile(r"^/(accounts/logout|accounts/password_change|admin/logout)")


@dataclass
class Page:
    route: str  # as written in path(): "observations/<int:pk>/edit/"
    name: str
    view: object

    @property
    def arguments(self):
        return re.findall(r"<(?:(\w+):)?(\w+)>", self.route)

    def url(self, values):
        """The route with each argument replaced by values[name] (quoted)."""
        return "/" + re.sub(
            r"<(?:\w+:)?(\w+)>", lambda m: quote(str(values[m[1]]), safe=""), self.route
        )

    @cached_property
    def regex(self):
        pattern = re.sub(r"<(?:(\w+):)?(\w+)>", _argument, _escape_route(self.route))
        return re.compile("/" + pattern)

    def matches(self, path):
        return self.regex.fullmatch(path)


def _argument(match):
    """The regex of one <converter:name>: an int is digits only, so that "/events/new/" is
    not taken for the page of an event called "new"."""
    converter, name = match[1], match[2]
    return f"(?P<{name}>{'[0-9]+' if converter == 'int' else '[^/]+'})"


def _escape_route(route):
    """re.escape for a route, leaving its <converter:name> parts for matches() to replace."""
    parts = re.split(r"(<[^>]+>)", route)
    return "".join(part if part.startswith("<") else re.escape(part) for part in parts)


def pages(resolver=None, prefix=""):
    """Every URL pattern of the site, the admin's included, as Pages."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        route = prefix + _route_text(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from pages(entry, route)
        elif isinstance(entry, URLPattern):
            yield Page(route=route, name=entry.name or "", view=entry.callback)


def _route_text(pattern):
    if not isinstance(pattern, RegexPattern):
        return str(pattern)
    # The admin's few regex patterns: (?P<name>...) becomes <name>; anchors go.
    text = str(pattern.regex.pattern).lstrip("^").removesuffix("$").removesuffix(r"\Z")
    out, depth, name = "", 0, None
    for match in re.finditer(r"\(\?P<(\w+)>|\(|\)|\\.|.", text, re.S):
        token = match[0]
        if match[1] and depth == 0:
            name, depth = match[1], 1
        elif depth:
            depth += {"(": 1, ")": -1}.get(token, 0)
            if depth == 0:
                out += f"<{name}>"
        else:
            out += token.removeprefix("\\")
    return out


class _Links(HTMLParser):
    """The links and the POST forms of a page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links, self.forms, self.form = [], [], None
        self.autocompletes = []  # the admin's autocomplete widgets: what each one asks for

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        elif tag == "form":
            self.form = {
                "method": (attrs.get("method") or "get").lower(),
                "action": attrs.get("action") or "",
                "fields": {},
                "files": [],
            }
            self.forms.append(self.form)
        if tag == "select" and attrs.get("data-app-label"):
            names = ("app_label", "model_name", "field_name")
            self.autocompletes.append(
                {name: attrs.get(f"data-{name.replace('_', '-')}") for name in names}
            )
        if tag in ("input", "select", "textarea") and self.form and attrs.get("name"):
            if attrs.get("type") == "file":
                self.form["files"].append(attrs["name"])
            else:
                self.form["fields"].setdefault(attrs["name"], attrs.get("value") or "")

    def handle_endtag(self, tag):
        if tag == "form":
            self.form = None


@dataclass
class Result:
    requests: int = 0
    failures: list = field(default_factory=list)  # (persona, method, url, status, cause)
    pages: int = 0
    reached: int = 0  # (persona, page) pairs reached with real arguments
    parameters: set = field(default_factory=set)  # (route, name) sent hostile values
    form_fields: set = field(default_factory=set)  # (action, name) likewise
    answered: set = field(default_factory=set)  # routes that answered a hostile parameter 200

    def add(self, persona, method, url, status, cause=""):
        self.requests += 1
        if status >= 500:
            self.failures.append((persona, method, url[:200], status, cause))


class Sweep:
    """Runs the sweep. `sample` picks which hostile values each (page, persona) tries:
    None for all of them, and every form field alone as well as all at once; a number n for
    n values, rotating with the page and the persona so that across the pages every value is
    used, and the form fields all at once only."""

    def __init__(self, personas, *, sample=None, import_row=None, progress=None):
        self.personas = personas  # {label: user or None for anonymous}
        self.progress = progress or (lambda label, result: None)
        self.sample = sample
        self.import_row = import_row or {"practitioner": ""}  # a valid row to spoil, cell by cell
        self.result = Result()
        self.pages = list(pages())
        self.result.pages = len(self.pages)

    def values_for(self, index, values=HOSTILE):
        if self.sample is None:
            return values
        start = (index * self.sample) % len(values)
        return [values[(start + n) % len(values)] for n in range(min(self.sample, len(values)))]

    def run(self):
        for turn, (label, user) in enumerate(self.personas.items()):
            client = Client(raise_request_exception=False)
            if user is not None:
                client.force_login(user)
            found = self.crawl(label, client)
            widgets = [query for _, parsed in found.values() for query in parsed.autocompletes]
            self.autocompletes = [dict(pairs) for pairs in {tuple(q.items()) for q in widgets}]
            for index, page in enumerate(self.pages):
                if user is not None and "_auth_user_id" not in client.session:
                    # A form swept before (a password change) ended the session.
                    client.force_login(user)
                rotation = index + turn * 7
                base, parsed = found.get(page.route, (None, None))
                self.try_path_arguments(label, client, page, base, rotation)
                if base is not None:
                    self.result.reached += 1
                    self.try_page(label, client, page, base, parsed, self.values_for(rotation))
            self.progress(label, self.result)
        return self.result

    # Requests -------------------------------------------------------------------------

    def request(self, label, client, method, url, data=None):
        """One request, rolled back after; its response."""
        with transaction.atomic():
            send = client.get if method == "get" else client.post
            response = send(url, data or {})
            transaction.set_rollback(True)
        shown = url + ("?" + urlencode(data) if data else "")
        self.result.add(label, method.upper(), shown, response.status_code, _cause(response))
        return response

    def crawl(self, label, client):
        """{route: (a real path, its parsed page)} for every page this user reaches by
        following links from the pages that take no arguments."""
        found, queue = {}, [(page.route, page.url({})) for page in self.pages if not page.arguments]
        waiting = [page for page in self.pages if page.arguments]
        while queue:
            route, path = queue.pop(0)
            if NEVER_FOLLOW.match(path):
                continue
            response = self.request(label, client, "get", path)
            is_html = "html" in response.get("Content-Type", "")
            parsed = _parse(response) if is_html else _Links()
            found[route] = (path, parsed)
            if response.status_code != 200:
                continue
            for link in parsed.links:
                target = urlsplit(link)
                if target.netloc or not target.path.startswith("/"):
                    continue
                for page in [page for page in waiting if page.matches(target.path)]:
                    waiting.remove(page)
                    queue.append((page.route, target.path))
        return found

    def try_path_arguments(self, label, client, page, base, rotation):
        """Hostile values in place of each argument, the others real where known."""
        real = page.matches(base).groupdict() if base else {}
        for kind, name in page.arguments:
            hostile = self.values_for(rotation, HOSTILE_IDS)
            if kind != "int":  # an int converter lets only ASCII digits through
                hostile = hostile + self.values_for(rotation)
            for value in hostile:
                values = {n: real.get(n, "1") for _, n in page.arguments} | {name: value}
                self.request(label, client, "get", page.url(values))

    def try_page(self, label, client, page, base, parsed, values):
        parameters = self.parameters(page, parsed)
        self.result.parameters.update((page.route, name) for name in parameters)
        # The admin's autocomplete answers only a widget it knows: ask as each one does.
        queries = self.autocompletes if page.name == "autocomplete" else [{}]
        for query in sorted(queries, key=str):
            for parameter in parameters:
                for value in values:
                    response = self.request(label, client, "get", base, query | {parameter: value})
                    if response.status_code == 200:
                        self.result.answered.add(page.route)
        for form in parsed.forms:
            if form["method"] == "post":
                self.try_form(label, client, base, form, values)

    def parameters(self, page, parsed):
        """What the view declares it reads, and what its links and GET forms send."""
        names = declared_parameters(page.view)
        if page.name == "autocomplete":
            names += ["term", "page"]  # what Django's AutocompleteJsonView reads
        for link in parsed.links:
            if link.startswith("?"):
                names += [pair.split("=")[0] for pair in link[1:].split("&") if pair]
        for form in parsed.forms:
            if form["method"] == "get":
                names += list(form["fields"])
        return list(dict.fromkeys(name for name in names if name))

    def try_form(self, label, client, base, form, values):
        """The form sent back with each hostile value in every field at once, and in each
        field alone (the others as the page filled them)."""
        action = urlsplit(form["action"]).path or base
        if NEVER_FOLLOW.match(action):
            return
        fields = {k: v for k, v in form["fields"].items() if k != "csrfmiddlewaretoken"}
        self.result.form_fields.update((action, name) for name in fields)
        if form["files"]:
            self.try_upload(label, client, action, fields, form["files"], values)
            return
        for value in values:
            self.request(label, client, "post", action, dict.fromkeys(fields, value))
        if self.sample is None:
            for name in fields:
                for value in values:
                    self.request(label, client, "post", action, fields | {name: value})

    def try_upload(self, label, client, action, fields, files, values):
        """The import's CSV with each hostile value in each column (one, rotating, when
        sampling), the page's other fields as it filled them."""
        columns = list(self.import_row)
        for turn, value in enumerate(values):
            chosen = self.values_for(turn + len(action), columns) if self.sample else columns
            for column in chosen:
                content = hostile_csv(self.import_row, column, value)
                uploads = {
                    name: SimpleUploadedFile("hostile.csv", content, content_type="text/csv")
                    for name in files
                }
                self.request(label, client, "post", action, fields | uploads)


def _cause(response):
    """The exception behind a 500, as 'file:line Type: message', for the report."""
    exc_info = getattr(response, "exc_info", None)
    if not exc_info:
        return ""
    frames = traceback.extract_tb(exc_info[2])
    ours = [frame for frame in frames if "-packages" not in frame.filename] or frames
    where = f"{ours[-1].filename}:{ours[-1].lineno} (deepest {frames[-1].name})"
    return f"{where} {exc_info[0].__name__}: {str(exc_info[1])[:120]}"


def _parse(response):
    parser = _Links()
    parser.feed(response.content.decode("utf-8", "replace"))
    return parser


# The CSV import ---------------------------------------------------------------------------


def import_rows(observation, item_codes):
    """A valid row copied from an observation: {column: cell}."""
    version = observation.rubric_version
    row = {
        "practitioner": observation.practitioner.email,
        "coach": observation.coach.email,
        "rubric": version.rubric.code,
        "version": str(version.number),
        "date": observation.observed_on.isoformat(),
        "activity": observation.activity.name,
        "mode": observation.mode,
        "duration": "45",
        "strengths": "Warm",
        "growth_areas": "Pace",
        "next_steps": "Practice",
    }
    row |= {code: str(observation.scores.get(code, "")) for code in item_codes}
    return row


def hostile_csv(row, column, value):
    """A two-row CSV: the valid row, and the same row with `value` in `column`."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(row)
    writer.writerows([row.values(), (row | {column: value}).values()])
    return out.getvalue().encode("utf-8")


def sweep_import(row, *, importer, values=HOSTILE):
    """Each hostile value in each column through the import service (a dry run); the
    columns that raised something other than a row or file problem."""
    from observations.imports import FileProblem, import_observations

    failures, tried = [], 0
    for column in row:
        for value in values:
            tried += 1
            try:
                with transaction.atomic():
                    upload = io.BytesIO(hostile_csv(row, column, value))
                    import_observations(upload, imported_by=importer, dry_run=True)
                    transaction.set_rollback(True)
            except FileProblem:
                pass
            except Exception as error:
                failures.append((column, value[:20], repr(error)[:200]))
    return tried, failures


# Who asks ------------------------------------------------------------------------------

ROLES = ["practitioner", "coach", "leader", "org_admin", "purveyor_admin"]


def personas():
    """{label: user}: anonymous, and for each role a signed-in person holding it and as few
    others as can be found, so that each kind of access is swept as itself."""
    from django.db.models import Count

    from miiwrap.people.models import Person, RoleGrant

    people = (
        Person.objects.filter(user__is_active=True)
        .select_related("user")
        .annotate(role_count=Count("roles"))
        .order_by("role_count", "pk")
    )
    found = {"anonymous": None}
    for role in ROLES:
        # An admin role would open the admin to a coach: sweep admins only as themselves.
        admins = RoleGrant.objects.filter(role__in={"org_admin", "purveyor_admin"} - {role})
        holders = people.with_role(role).exclude(pk__in=admins.values("person_id"))
        person = holders.first()
        if person is not None:
            found[role] = person.user
    return found


def import_sample():
    """A valid import row copied from a submitted observation; None when there is none."""
    from observations.models import Observation

    observation = (
        Observation.objects.filter(status=Observation.Status.SUBMITTED)
        .select_related("rubric_version__rubric", "practitioner", "coach", "activity")
        .order_by("pk")
        .first()
    )
    if observation is None:
        return None
    codes = [item.code for item in observation.rubric_version.items.all()]
    return import_rows(observation, codes)
