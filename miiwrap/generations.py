"""What the dashboards keep, and when it goes stale: a generation per organization.

A kept figure (a dashboard section) is stored in the shared cache under a key that names
the current generation of every organization it reads, and the system-wide generation
(rubrics, programs and rules, which every organization shares). A write that changes what a
figure reads bumps the generation of the organizations it touches once its transaction
commits; keys made under the old generation are never read again and expire.

So the declarations are few and in one place each:
- a new dashboard section is read through its page's `Kept`, which names the
  organizations and the key parts: the filters, the local date;
- a model whose rows feed a dashboard is registered with `feeds` (in its app's ready()):
  saving or deleting one row bumps its organization, or everyone;
- a write that skips model signals (bulk_create, QuerySet.update, raw SQL, a nightly job)
  calls `touched(...)` with the organizations it wrote for, or `touched(everyone=True)`.
"""

import contextvars
import hashlib
import secrets
import threading
import time
from contextlib import contextmanager
from operator import attrgetter

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save

# How long a kept section lives if nothing bumps it: a day bounds what a write that forgot
# to declare itself could leave stale, and the local date in every key turns them daily.
KEPT_SECONDS = 24 * 3600
# Generations outlive the sections made under them: losing one only costs a recompute.
GENERATION_SECONDS = 7 * 24 * 3600
EVERYONE = "everyone"
# A section being computed is claimed for this long at most; others wait for it up to
# WAIT_SECONDS, looking every WAIT_STEP.
CLAIM_SECONDS = 60
WAIT_SECONDS = 30
WAIT_STEP = 0.05

_enabled = contextvars.ContextVar("dashboard_cache_enabled", default=True)
# The models registered with `feeds`, and how many writes have been declared so far: the
# tests check that a bulk write to a fed model is declared after it (tests/generation_guard.py).
FED = set()
declared = 0


def _key(scope):
    return f"generation:{scope}"


def _fresh():
    return secrets.token_hex(6)


def generations(organization_ids):
    """{scope: token} for these organizations and EVERYONE, made on first use."""
    scopes = [EVERYONE, *sorted({int(pk) for pk in organization_ids})]
    found = cache.get_many([_key(scope) for scope in scopes])
    tokens = {}
    for scope in scopes:
        token = found.get(_key(scope))
        if token is None:
            # add, not set: two processes making the first token agree on one.
            cache.add(_key(scope), _fresh(), GENERATION_SECONDS)
            token = cache.get(_key(scope)) or _fresh()
        tokens[scope] = token
    return tokens


def bump(organization_ids=(), everyone=False):
    """New generations now (callers within a transaction want `touched`)."""
    scopes = [EVERYONE] if everyone else sorted({int(pk) for pk in organization_ids if pk})
    if scopes:
        cache.set_many({_key(scope): _fresh() for scope in scopes}, GENERATION_SECONDS)


class _Thread(threading.local):
    """What this thread has declared: `pending`, the bumps its transaction owes at commit;
    `fresh`, the organizations bumped for it since it last read a kept section (bumping
    them again before a read would change nothing it could see)."""

    def __init__(self):
        self.pending, self.pending_everyone = set(), False
        self.fresh, self.fresh_everyone = set(), False
        self.block = None  # the outermost atomic block `fresh` belongs to

    def within(self, connection):
        """`fresh` counts within one transaction only: another may follow a rollback, or
        come after other processes kept sections under the last commit's generations."""
        outermost = connection.atomic_blocks[0] if connection.atomic_blocks else None
        if self.block is not outermost:
            self.block, self.fresh, self.fresh_everyone = outermost, set(), False


_thread = _Thread()


def touched(*organizations, everyone=False):
    """Declare a write for these organizations (instances or ids), or for everyone: their
    kept figures go stale now, so the writer's own next read sees the write, and again
    when the transaction commits, so nothing another process kept from the rows as they
    were before the commit outlives it. Within a transaction, a loop that saves or
    deletes a thousand rows bumps each organization once now (until a kept section is
    read) and once at commit."""
    global declared
    declared += 1
    ids = {getattr(org, "pk", org) for org in organizations} - {None}
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        bump(ids, everyone)  # committed already: other processes may have read it
        return
    _thread.within(connection)
    now = ids - _thread.fresh
    now_everyone = everyone and not _thread.fresh_everyone
    if now or now_everyone:
        bump(now, now_everyone)
    _thread.fresh |= ids
    _thread.fresh_everyone |= everyone
    _thread.pending |= ids
    _thread.pending_everyone |= everyone
    transaction.on_commit(_bump_pending, robust=True)


def _read_kept():
    """A kept section is being read: a write after this must bump again."""
    _thread.fresh, _thread.fresh_everyone = set(), False


def touched_people(person_ids):
    """Declare a write about these people: their organizations' figures go stale."""
    from miiwrap.people.models import Person

    people = Person.objects.filter(pk__in=list(person_ids))
    touched(*set(people.values_list("organization_id", flat=True)))


def _bump_pending():
    """The bumps gathered since the last commit (a rolled-back write's too: a bump too
    many costs a recompute, never a wrong figure)."""
    ids, everyone = _thread.pending, _thread.pending_everyone
    _thread.pending, _thread.pending_everyone = set(), False
    if everyone:
        bump(everyone=True)
    elif ids:
        bump(ids)


@contextmanager
def uncached():
    """Compute every section from scratch inside this block (the tests' oracle)."""
    token = _enabled.set(False)
    try:
        yield
    finally:
        _enabled.reset(token)


class Kept:
    """The sections of one page for one scope: the organizations it reads and `parts`
    (the filters and local dates it depends on, plain values with a stable repr). Their
    generations are read once, when the first section is asked for."""

    def __init__(self, organization_ids, parts):
        self.organization_ids, self.parts = organization_ids, parts
        self._tokens = None

    @property
    def tokens(self):
        """{scope: token} of its organizations and everyone's, read once."""
        if self._tokens is None:
            _read_kept()
            self._tokens = generations(self.organization_ids)
        return self._tokens

    def __call__(self, section, compute):
        """`compute()`, or what it returned for this scope since the last write to it."""
        if not _enabled.get():
            return compute()
        key = _section_key(section, sorted(self.tokens.items(), key=str), self.parts)
        found = cache.get(key)
        if found is None:
            found = _computed_once(key, compute)
        return found[0]

    def each(self, section, compute):
        """{organization id: part} of a section read for each of its organizations apart
        (as a comparison across organizations is), each part kept under the generations of
        its own organization and everyone's: after a write to one organization, only its
        part is computed again. `compute(ids)` returns {id: part} for the ids it is given
        (all of them at first, one after a write), in one pass; an id it leaves out has
        the part None."""
        ids = [int(pk) for pk in self.organization_ids]
        if not _enabled.get():
            computed = compute(ids)
            return {pk: computed.get(pk) for pk in ids}
        tokens = self.tokens
        keys = {
            pk: _section_key(section, [tokens[EVERYONE], tokens[pk]], (pk, self.parts))
            for pk in ids
        }
        found = cache.get_many(list(keys.values()))
        missing = [pk for pk in ids if keys[pk] not in found]
        computed = {}
        if missing:
            computed = compute(missing)
            cache.set_many({keys[pk]: (computed.get(pk),) for pk in missing}, KEPT_SECONDS)
        return {pk: found[keys[pk]][0] if keys[pk] in found else computed.get(pk) for pk in ids}


def _section_key(section, tokens, parts):
    described = repr((section, tokens, parts))
    return f"section:{section}:{hashlib.sha256(described.encode()).hexdigest()[:32]}"


def _computed_once(key, compute):
    """Compute a section no process holds: after a bump every reader of a page misses at
    once, and twenty requests computing the same section would each take twenty times as
    long. The first claims it; the others wait for its value (up to WAIT_SECONDS), then
    compute it themselves, so a claimant that died costs a wait, never an answer."""
    claim = f"{key}:computing"
    claimed = cache.add(claim, 1, CLAIM_SECONDS)
    if not claimed and (found := _waited_for(key, claim)) is not None:
        return found
    try:
        found = (compute(),)
        cache.set(key, found, KEPT_SECONDS)
    finally:
        if claimed:
            cache.delete(claim)
    return found


def _waited_for(key, claim):
    """The value another process is computing under `claim`; None if it gave up (an
    error) or WAIT_SECONDS went by first."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(WAIT_STEP)
        if (found := cache.get(key)) is not None:
            return found
        if cache.get(claim) is None:
            return None
    return None


# Models whose rows feed dashboards --------------------------------------------------------


def feeds(model, organization=None, *, everyone=False, moves=False):
    """Register `model`: saving or deleting a row bumps the organization read from it by
    `organization` (an attribute path such as "practitioner.organization_id", or a
    function of the row), or everyone's. `moves`: the row may change organization, so the
    one it had before the save is bumped too."""
    if everyone:
        read = None
    elif callable(organization):
        read = organization
    else:
        read = attrgetter(organization)

    def organizations_of(row):
        if read is None:
            return ()
        found = read(row)
        return found if isinstance(found, list | tuple | set) else (found,)

    def saved(sender, instance, raw=False, **kwargs):
        if raw:  # fixtures being loaded: the loader declares its own write
            return
        before = getattr(instance, "_generation_before", ())
        touched(*before, *organizations_of(instance), everyone=everyone)

    def deleting(sender, instance, **kwargs):
        # Read before the row (and what it points to) is gone.
        instance._generation_before = organizations_of(instance)

    def deleted(sender, instance, **kwargs):
        touched(*getattr(instance, "_generation_before", ()), everyone=everyone)

    def saving(sender, instance, raw=False, **kwargs):
        if raw or instance._state.adding or instance.pk is None:
            return
        old = sender._default_manager.filter(pk=instance.pk).first()
        instance._generation_before = organizations_of(old) if old is not None else ()

    FED.add(model)
    uid = f"generations:{model._meta.label}"
    post_save.connect(saved, sender=model, weak=False, dispatch_uid=uid)
    pre_delete.connect(deleting, sender=model, weak=False, dispatch_uid=uid)
    post_delete.connect(deleted, sender=model, weak=False, dispatch_uid=uid)
    if moves:
        pre_save.connect(saving, sender=model, weak=False, dispatch_uid=uid)
