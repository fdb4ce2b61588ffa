"""Every events page for every persona: signed out, nobody's login, and the admin's
event and attendance lists scoped as the rest of the admin."""

import pytest
from django.urls import reverse

from miiwrap.community.models import Attendance
from tests.community.conftest import attend


def every_page(events):
    pk = events.home_only.pk
    return [
        reverse("community:list"),
        reverse("community:new"),
        reverse("community:event", args=[pk]),
        reverse("community:edit", args=[pk]),
        reverse("community:attendance", args=[pk]),
    ]


def test_signed_out_visitors_are_sent_to_sign_in_from_every_page(client, events):
    for url in every_page(events):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/"), url
    response = client.post(reverse("community:register", args=[events.home_only.pk]))
    assert response.status_code == 302
    assert not Attendance.objects.exists()


@pytest.mark.parametrize(
    ("who", "statuses"),
    [
        ("purveyor_admin", [200, 200, 200, 200, 200]),
        ("org_admin", [200, 200, 200, 200, 200]),
        ("leader", [200, 200, 200, 200, 200]),
        ("coach", [200, 404, 200, 404, 404]),
        ("practitioner", [200, 404, 200, 404, 404]),
        ("outsider", [200, 200, 404, 404, 404]),  # a leader elsewhere: their own events only
    ],
)
def test_each_persona_opens_the_pages_their_role_allows(login, world, events, who, statuses):
    client = login(getattr(world, who))
    assert [client.get(url).status_code for url in every_page(events)] == statuses


def test_the_new_event_page_asks_for_every_field(login, world, events):
    page = login(world.purveyor_admin).get(reverse("community:new")).content.decode()
    for name in ("title", "held_on", "kind", "format", "topic", "facilitator", "capacity"):
        assert f'name="{name}"' in page, name
    assert 'name="form_token"' in page


def test_a_coach_is_offered_their_caseload_and_themselves_to_register(login, world, events):
    form = login(world.coach).get(events.shared.get_absolute_url()).context["register_form"]
    assert set(form.fields["person"].queryset) == {world.coach, world.practitioner}


# The admin


def test_the_purveyor_reads_every_event_in_the_admin(login, world, events):
    response = login(world.purveyor_admin).get("/admin/community/event/")
    assert response.status_code == 200
    assert response.context["cl"].result_count == 4


def test_an_organization_admin_reads_only_the_events_inviting_them(login, world, events):
    response = login(world.org_admin).get("/admin/community/event/")
    titles = {event.title for event in response.context["cl"].result_list}
    assert titles == {
        "Reflections across agencies",
        "Riverbend coaching circle",
        "Spring learning community",
    }


def test_an_organization_admin_reads_their_own_peoples_attendance_only(login, world, events):
    attend(events.shared, world.practitioner)
    attend(events.shared, world.away_practitioner)
    response = login(world.org_admin).get("/admin/community/attendance/")
    assert [row.person for row in response.context["cl"].result_list] == [world.practitioner]


def test_attendance_is_not_added_or_changed_in_the_admin(login, world, events):
    row = attend(events.shared, world.practitioner)
    client = login(world.purveyor_admin)
    assert client.get("/admin/community/attendance/add/").status_code == 403
    change = client.post(f"/admin/community/attendance/{row.pk}/change/", {"status": "absent"})
    assert change.status_code == 403
    row.refresh_from_db()
    assert row.status == "attended"


def test_the_attendance_admin_links_to_the_import(login, world, events):
    page = login(world.purveyor_admin).get("/admin/community/attendance/").content.decode()
    assert "/admin/community/attendance/import/" in page
