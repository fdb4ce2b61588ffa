"""Rendered parts of pages kept per viewer, under the generations of what they read.

A dashboard's sections are kept per scope and shared by every viewer of it
(miiwrap.generations.Kept); the HTML made from them is not, since every name in it links
where the one reading may go (miiwrap.people.links), which depends on who they are, their
roles and their organization. So a rendered part is kept per viewer, under the
generations of the organizations it reads and of the viewer's own organization (where
their roles are written), with the page's query string in its key.
"""

from miiwrap import generations
from miiwrap.people.access import viewer_for


def kept_for(request, organization_ids, parts):
    """A Kept for parts of this request's page, rendered for this viewer."""
    viewer = viewer_for(request.user)
    organizations = {*organization_ids, viewer.organization_id} - {None}
    who = (
        viewer.user_id,
        viewer.person_id,
        viewer.organization_id,
        viewer.is_superuser,
        tuple(sorted(viewer.roles)),
    )
    return generations.Kept(organizations, (parts, who, request.GET.urlencode()))
