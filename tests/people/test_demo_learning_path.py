"""The demo's new hires walk their learning paths unevenly: some steps done, some due,
some overdue, read from the events, observations, plans and certifications it holds."""

from miiwrap.dashboards import learning_path
from miiwrap.people.models import Organization
from tests.factories import DEMO_TODAY


def test_the_demos_new_hires_show_done_due_and_overdue_steps(demo_output):
    clients = list(Organization.objects.filter(is_purveyor=False))
    groups, deadline = learning_path.new_hires(clients, DEMO_TODAY)
    rows = [row for _, found in groups for row in found]
    seen = {p.state.value for row in rows for p in row.checklist.steps}
    assert deadline == 45 and rows
    assert seen == {"done", "due", "overdue"}
    # Each new hire has begun, and none has finished: they are still waiting to certify.
    assert all(0 < row.checklist.done < len(row.checklist.steps) for row in rows)
