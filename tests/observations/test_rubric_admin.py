"""Rubrics in the admin: who manages them, immutable published versions, the actions."""

import io
import json
import re
import zipfile

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from observations import rubric_io, services
from observations.admin_forms import MetricForm
from observations.models import ActivityType, Metric, Rubric, RubricVersion
from tests.factories import rubric_version

CHANGELIST = reverse("admin:observations_rubricversion_changelist")


def change_url(obj):
    return reverse(f"admin:observations_{obj._meta.model_name}_change", args=[obj.pk])


def act(client, action, *versions):
    return client.post(CHANGELIST, {"action": action, "_selected_action": [v.pk for v in versions]})


def form_data(response):
    """What a browser posts back from an admin change page as rendered (zeros included)."""
    data = {}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms += [inline.formset.management_form, *inline.formset.forms]
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value is None or value is False:
                continue
            data[form.add_prefix(name)] = "on" if value is True else str(value)
    return data


def texts(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def draft(world):
    """A draft copy of the shipped MiiWrap fidelity tool: version 2."""
    return services.rubric_version_copy(version=rubric_version())


# Who manages rubrics


@pytest.mark.parametrize(
    "name",
    ["observations_rubric", "observations_rubricversion", "observations_activitytype"],
)
def test_org_admins_read_rubrics_and_activity_types(world, login, name):
    client = login(world.org_admin)
    assert client.get(reverse(f"admin:{name}_changelist")).status_code == 200
    assert client.get(reverse(f"admin:{name}_add")).status_code == 403


def test_org_admins_cannot_change_a_draft(world, login, draft):
    client = login(world.org_admin)
    response = client.get(change_url(draft))
    assert response.status_code == 200
    assert not response.context["has_change_permission"]
    assert client.post(change_url(draft), {"notes": "mine"}).status_code == 403


def test_org_admins_may_only_export(world, login):
    response = login(world.org_admin).get(CHANGELIST)
    actions = [name for name, _ in response.context["action_form"].fields["action"].choices]
    assert actions == ["", "export_json"]


def test_purveyor_admin_manages_activity_types(world, login):
    client = login(world.purveyor_admin)
    url = reverse("admin:observations_activitytype_add")
    response = client.post(url, {"name": "Court hearing", "is_active": "on", "position": 9})
    assert response.status_code == 302
    assert ActivityType.objects.filter(name="Court hearing").exists()


def test_purveyor_admin_adds_a_rubric_and_a_draft_version(world, login):
    client = login(world.purveyor_admin)
    client.post(
        reverse("admin:observations_rubric_add"),
        {
            "code": "tom",
            "name": "TOM 2.0",
            "audience": "coach",
            "versions-TOTAL_FORMS": "0",
            "versions-INITIAL_FORMS": "0",
        },
    )
    rubric = Rubric.objects.get(code="tom")
    assert rubric.audience == "coach"  # a coaching rubric observes coaches
    data = form_data(client.get(reverse("admin:observations_rubricversion_add")))
    data.update(rubric=rubric.pk, number="1", bands="met\nnot met")
    response = client.post(reverse("admin:observations_rubricversion_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    version = RubricVersion.objects.get(rubric=rubric)
    assert (version.status, version.bands) == ("draft", ["met", "not met"])


# Published and retired versions do not change


@pytest.mark.parametrize("status", ["published", "retired"])
def test_a_used_version_is_read_only_even_for_the_purveyor(world, login, status):
    version = rubric_version()
    RubricVersion.objects.filter(pk=version.pk).update(status=status)
    client = login(world.purveyor_admin)
    response = client.get(change_url(version))
    assert response.status_code == 200
    assert not response.context["has_change_permission"]
    assert not response.context["has_delete_permission"]
    for inline in response.context["inline_admin_formsets"]:
        assert not inline.has_add_permission and not inline.has_change_permission
        assert not inline.has_delete_permission
    assert b'name="_save"' not in response.content
    assert client.post(change_url(version), {"notes": "changed"}).status_code == 403
    assert (
        client.post(
            reverse("admin:observations_rubricversion_delete", args=[version.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert RubricVersion.objects.get(pk=version.pk).notes == "Shipped with the app."


def test_the_items_and_levels_of_a_published_version_are_read_only(world, login):
    item = rubric_version().items.get(code="ep-voice")
    client = login(world.purveyor_admin)
    response = client.get(change_url(item))
    assert not response.context["has_change_permission"]
    [levels] = response.context["inline_admin_formsets"]
    assert not levels.has_change_permission
    assert client.post(change_url(item), {"label": "x"}).status_code == 403


def test_bulk_delete_is_not_offered(world, login):
    response = login(world.purveyor_admin).get(CHANGELIST)
    actions = [name for name, _ in response.context["action_form"].fields["action"].choices]
    assert actions == ["", "publish", "retire", "copy_as_draft", "export_json"]


def test_a_draft_is_edited_and_deleted(world, login, draft):
    client = login(world.purveyor_admin)
    response = client.get(change_url(draft))
    assert response.context["has_change_permission"]
    data = form_data(response)
    assert data["bands"] == "high\nadequate\nborderline\nlow"
    assert data["metrics-4-thresholds"] == "high 85\nadequate 75\nborderline 65"
    data.update({"bands": "high\nadequate\nborderline\nlow\nvery low", "items-0-label": "Voice"})
    response = client.post(change_url(draft), data)
    assert response.status_code == 302, response.context["errors"]
    draft.refresh_from_db()
    assert draft.bands[-1] == "very low"
    assert draft.items.get(code="ep-voice").label == "Voice"
    delete = reverse("admin:observations_rubricversion_delete", args=[draft.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302
    assert not RubricVersion.objects.filter(pk=draft.pk).exists()


def test_a_drafts_item_page_edits_levels(world, login, draft):
    item = draft.items.get(code="ep-voice")
    client = login(world.purveyor_admin)
    data = form_data(client.get(change_url(item)))
    data["levels-0-descriptor"] = "Silent throughout."
    assert client.post(change_url(item), data).status_code == 302
    assert item.levels.get(value=0).descriptor == "Silent throughout."
    assert rubric_version().items.get(code="ep-voice").levels.get(value=0).descriptor != (
        "Silent throughout."
    )


def test_metric_text_fields_are_saved_as_lists(world, login, draft):
    client = login(world.purveyor_admin)
    data = form_data(client.get(change_url(draft)))
    data.update(
        {
            "metrics-0-numerator": "ep-voice,  ep-strengths ep-transparency",
            "metrics-0-thresholds": "high 90\n\nadequate 72.5\n",
        }
    )
    response = client.post(change_url(draft), data)
    assert response.status_code == 302, response.context["errors"]
    metric = draft.metrics.get(code="engagement")
    assert metric.numerator == ["ep-voice", "ep-strengths", "ep-transparency"]
    assert metric.thresholds == [
        {"band": "high", "minimum": 90},
        {"band": "adequate", "minimum": 72.5},
    ]


def test_metric_errors_are_shown_on_the_draft(world, login, draft):
    client = login(world.purveyor_admin)
    data = form_data(client.get(change_url(draft)))
    data.update({"metrics-0-numerator": "ep-voice, nope", "metrics-1-thresholds": "superb 90"})
    response = client.post(change_url(draft), data)
    assert response.status_code == 200
    errors = [
        e
        for inline in response.context["inline_admin_formsets"]
        for e in inline.formset.errors
        if e
    ]
    assert errors == [
        {"__all__": ["No such item on this version: nope."]},
        {"thresholds": ["“superb” is not one of the version's bands."]},
    ]


# The metric form, on its own


def metric_form(version, **data):
    fields = {
        "code": "m",
        "label": "M",
        "kind": "mean",
        "numerator": "ep-voice",
        "denominator": "",
        "thresholds": "",
        "position": "0",
        **data,
    }
    return MetricForm(fields, instance=Metric(version=version))


@pytest.mark.parametrize(
    "data, errors",
    [
        ({"numerator": ""}, {"numerator": ["This field is required."]}),
        (
            {"numerator": "ep voice!"},
            {
                "numerator": [
                    "“voice!” is not an item code: use letters, digits, - or _, "
                    "separated by commas."
                ]
            },
        ),
        (
            {"thresholds": "high"},
            {"thresholds": ["Line 1: “high” needs a band and a minimum, such as “adequate 75”."]},
        ),
        (
            {"thresholds": "high 85\nadequate seventy"},
            {
                "thresholds": [
                    "Line 2: “seventy” is not a number; write the minimum last, such as "
                    "“adequate 75”."
                ]
            },
        ),
        (
            {"thresholds": "high NaN"},
            {"thresholds": ["Line 1: the minimum must be a finite number."]},
        ),
        ({"kind": "ratio"}, {"denominator": ["A ratio or percentage needs a denominator."]}),
        (
            {"thresholds": "excellent 90"},
            {"thresholds": ["“excellent” is not one of the version's bands."]},
        ),
    ],
)
def test_metric_form_says_what_is_wrong(world, draft, data, errors):
    form = metric_form(draft, **data)
    assert not form.is_valid()
    assert form.errors == errors


def test_metric_form_reads_band_names_with_spaces(world):
    mi = services.rubric_version_copy(version=rubric_version("mi-coding"))
    form = metric_form(mi, numerator="cct, sst", thresholds="good 4\nbelow fair 0")
    assert form.is_valid(), form.errors
    assert form.cleaned_data["thresholds"] == [
        {"band": "good", "minimum": 4},
        {"band": "below fair", "minimum": 0},
    ]


# Actions


def test_copy_makes_the_next_draft_with_the_same_structure(world, login):
    version = rubric_version()
    response = act(login(world.purveyor_admin), "copy_as_draft", version)
    copy = RubricVersion.objects.with_structure().get(rubric=version.rubric, number=2)
    assert response.status_code == 302
    assert response.url == change_url(copy)
    assert copy.status == "draft" and copy.published_at is None
    assert copy.definition() == version.definition()
    assert [lv.descriptor for lv in copy.items.get(code="ep-voice").levels.all()] == [
        lv.descriptor for lv in version.items.get(code="ep-voice").levels.all()
    ]


def test_publish_makes_a_draft_usable(world, login, draft):
    response = act(login(world.purveyor_admin), "publish", draft)
    draft.refresh_from_db()
    assert (draft.status, draft.published_at is not None) == ("published", True)
    assert texts(response) == ["MiiWrap fidelity tool v2 published."]


def test_publish_refuses_a_version_that_is_not_a_draft(world, login):
    response = act(login(world.purveyor_admin), "publish", rubric_version())
    assert texts(response) == [
        "MiiWrap fidelity tool v1 was not published: MiiWrap fidelity tool v1 is published, "
        "not a draft."
    ]


def test_publish_refuses_a_broken_draft_and_says_why(world, login, draft):
    Metric.objects.filter(version=draft, code="fidelity").update(
        thresholds=[{"band": "stellar", "minimum": 95}]
    )
    response = act(login(world.purveyor_admin), "publish", draft)
    assert texts(response) == [
        "MiiWrap fidelity tool v2 was not published: Metric fidelity: band “stellar” is unknown."
    ]
    assert RubricVersion.objects.get(pk=draft.pk).status == "draft"


def test_publish_refuses_an_empty_draft(world, login):
    empty = RubricVersion.objects.create(rubric=rubric_version().rubric, number=5)
    response = act(login(world.purveyor_admin), "publish", empty)
    assert texts(response) == [f"{empty} was not published: Add at least one item."]


def test_publish_runs_a_trial_computation(world, draft):
    Metric.objects.filter(version=draft, code="fidelity").update(
        thresholds=[{"band": "high", "minimum": "lots"}]
    )
    draft = RubricVersion.objects.with_structure().get(pk=draft.pk)
    problems = services.publish_problems(draft)
    assert problems == ["Metric fidelity: every threshold needs a band and a number minimum."]


def test_retire_stops_new_observations_on_a_version(world, login, draft):
    client = login(world.purveyor_admin)
    response = act(client, "retire", rubric_version(), draft)
    assert RubricVersion.objects.get(number=1, rubric__code="miiwrap-fidelity").status == "retired"
    assert RubricVersion.objects.get(pk=draft.pk).status == "draft"
    assert texts(response) == [
        "MiiWrap fidelity tool v2 was not retired: MiiWrap fidelity tool v2 is draft; only a "
        "published version is retired.",
        "MiiWrap fidelity tool v1 retired.",
    ]


def test_org_admins_cannot_run_the_changing_actions(world, login):
    response = act(login(world.org_admin), "retire", rubric_version())
    assert RubricVersion.objects.get(pk=rubric_version().pk).status == "published"
    assert texts(response) == ["No action selected."]


def test_export_one_version_as_a_json_file(world, login):
    version = rubric_version()
    response = act(login(world.org_admin), "export_json", version)
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == ('attachment; filename="miiwrap-fidelity-v1.json"')
    assert json.loads(response.content) == rubric_io.dump_version(version)


def test_export_several_versions_as_a_zip(world, login):
    response = act(
        login(world.purveyor_admin), "export_json", rubric_version(), rubric_version("mi-coding")
    )
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == ["mi-coding-v1.json", "miiwrap-fidelity-v1.json"]
    document = json.loads(archive.read("mi-coding-v1.json"))
    assert document["rubric"]["code"] == "mi-coding"


# Import from JSON

IMPORT = reverse("admin:observations_rubric_import")


def upload(client, content, name="rubric.json"):
    file = io.BytesIO(content)
    file.name = name
    return client.post(IMPORT, {"file": file})


def test_the_rubric_list_links_to_the_import_page_for_the_purveyor(world, login):
    url = reverse("admin:observations_rubric_changelist")
    assert IMPORT.encode() in login(world.purveyor_admin).get(url).content
    assert IMPORT.encode() not in login(world.org_admin).get(url).content


def test_purveyor_imports_an_exported_version_under_a_new_code(world, login):
    document = rubric_io.dump_version(rubric_version())
    document["rubric"].update(code="fidelity-copy", name="Fidelity copy")
    response = upload(login(world.purveyor_admin), json.dumps(document).encode())
    version = RubricVersion.objects.with_structure().get(rubric__code="fidelity-copy")
    assert response.status_code == 302
    assert response.url == change_url(version)
    assert version.definition() == rubric_version().definition()


@pytest.mark.parametrize(
    "content, error",
    [
        (
            b"{not json",
            "The file is not valid JSON: Expecting property name enclosed in double "
            "quotes: line 1 column 2 (char 1).",
        ),
        (b"\xff\xfe{}", "The file is not UTF-8 text."),
        (b'{"minimum": NaN}', "The file is not valid JSON: NaN is not a number JSON allows."),
        (b"[]", "This is not a rubric file: expected format “miiwrap-rubric/1”."),
    ],
)
def test_a_file_that_is_not_a_rubric_is_refused_with_a_reason(world, login, content, error):
    response = upload(login(world.purveyor_admin), content)
    assert response.status_code == 200
    assert response.context["form"].errors == {"file": [error]}


def test_a_version_that_already_exists_is_refused(world, login):
    document = json.dumps(rubric_io.dump_version(rubric_version())).encode()
    response = upload(login(world.purveyor_admin), document)
    assert response.context["form"].errors == {
        "file": ["MiiWrap fidelity tool already has a version 1."]
    }


def test_a_label_too_long_for_the_database_saves_nothing(world, login):
    document = rubric_io.dump_version(rubric_version())
    document["rubric"]["code"] = "long"
    document["items"][3]["kind"] = "rating"
    document["items"][3]["levels"].append(document["items"][3]["levels"][0])  # value twice
    response = upload(login(world.purveyor_admin), json.dumps(document).encode())
    [error] = response.context["form"].errors["file"]
    assert error.startswith("The file could not be loaded (IntegrityError")
    assert not Rubric.objects.filter(code="long").exists()


def test_an_import_page_sent_twice_shows_the_version_the_first_imported(world, login):
    document = rubric_io.dump_version(rubric_version())
    document["rubric"].update(code="fidelity-copy", name="Fidelity copy")
    client = login(world.purveyor_admin)
    page = client.get(IMPORT).content.decode()
    [token] = re.findall(r'type="hidden" name="form_token" value="([^"]+)"', page)
    responses = []
    for _ in range(2):
        file = io.BytesIO(json.dumps(document).encode())
        file.name = "rubric.json"
        responses.append(client.post(IMPORT, {"file": file, "form_token": token}))
    version = RubricVersion.objects.get(rubric__code="fidelity-copy")
    assert [r.status_code for r in responses] == [302, 302]
    assert responses[1].url == change_url(version)


def test_org_admins_cannot_import_rubrics(world, login):
    assert login(world.org_admin).get(IMPORT).status_code == 403


def test_a_domain_with_items_cannot_be_deleted_from_a_draft(world, login, draft):
    client = login(world.purveyor_admin)
    data = {**form_data(client.get(change_url(draft))), "domains-0-DELETE": "on"}
    response = client.post(change_url(draft), data)
    assert response.status_code == 200
    [domains, *_] = response.context["inline_admin_formsets"]
    [error] = domains.formset.non_form_errors()
    assert error.startswith("Deleting domain Engagement and partnership would require deleting")
    assert draft.domains.count() == 4


@pytest.mark.parametrize("persona", ["purveyor_admin", "org_admin"])
def test_a_rubrics_page_lists_its_versions(world, login, persona, draft):
    response = login(getattr(world, persona)).get(change_url(draft.rubric))
    [versions] = response.context["inline_admin_formsets"]
    assert [form.original for form in versions] == [draft, rubric_version()]
    assert change_url(draft).encode() in response.content
