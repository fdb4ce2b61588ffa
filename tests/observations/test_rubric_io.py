"""Rubric versions to JSON and back: a round trip keeps the definition; bad files say why."""

import copy
import json

import pytest

from observations import models, rubric_io, services
from observations.models import Rubric, RubricVersion
from tests.factories import rubric_version


def exported(code="miiwrap-fidelity"):
    """A shipped version as its JSON file would hold it."""
    return json.loads(json.dumps(rubric_io.dump_version(rubric_version(code))))


def structure(document):
    """The document without what is allowed to differ between installations."""
    document = copy.deepcopy(document)
    del document["rubric"]
    return document


@pytest.mark.parametrize("code", ["miiwrap-fidelity", "mi-coding"])
def test_export_then_import_under_a_new_code_gives_the_same_definition(db, code):
    document = exported(code)
    document["rubric"].update(code=f"{code}-copy", name="Copy")
    loaded = services.rubric_version_import(data=document)
    loaded = RubricVersion.objects.with_structure().get(pk=loaded.pk)
    assert loaded.definition() == rubric_version(code).definition()
    assert structure(rubric_io.dump_version(loaded)) == structure(exported(code))
    assert loaded.rubric.name == "Copy"


def test_a_coaching_rubric_keeps_its_audience_through_a_file(db):
    version = rubric_version()
    Rubric.objects.filter(pk=version.rubric_id).update(audience="coach")
    document = exported()
    assert document["rubric"]["audience"] == "coach"
    document["rubric"].update(code="coaching-copy", name="Coaching copy")
    assert services.rubric_version_import(data=document).rubric.audience == "coach"


def test_a_file_without_an_audience_observes_practitioners(db):
    document = exported()
    assert "audience" not in document["rubric"]
    document["rubric"].update(code="plain-copy", name="Plain copy")
    assert services.rubric_version_import(data=document).rubric.audience == "practitioner"


def test_an_unknown_audience_is_refused(db):
    document = exported()
    document["rubric"].update(code="odd", audience="leader")
    with pytest.raises(rubric_io.RubricFormatError, match="audience must be one of"):
        services.rubric_version_import(data=document)


@pytest.mark.parametrize(
    "where, change, reason",
    [
        ("rubric", {"name": "Tool\nBcc: x"}, "The rubric's name: Remove a line break"),
        ("item", {"label": "Voice\x00"}, "Item ep-voice: Remove a NUL byte"),
        ("item", {"guidance": "Look\x07"}, "Item ep-voice's guidance: Remove the control"),
        ("item", {"guidance": "x" * 20_001}, "Item ep-voice's guidance: keep it to 20,000"),
    ],
)
def test_text_a_form_would_refuse_is_refused_in_a_file(db, where, change, reason):
    document = exported()
    document["rubric"].update(code="texts", name="Texts")
    target = document["rubric"] if where == "rubric" else document["items"][0]
    target.update(change)
    with pytest.raises(rubric_io.RubricFormatError, match=reason):
        services.rubric_version_import(data=document)


def test_guidance_keeps_its_line_breaks(db):
    document = exported()
    document["rubric"].update(code="texts", name="Texts")
    document["items"][0]["guidance"] = "First:\n\t- listen"
    version = services.rubric_version_import(data=document)
    assert version.items.get(code="ep-voice").guidance == "First:\n\t- listen"


def test_the_shipped_files_are_what_the_database_holds(db):
    for document in rubric_io.shipped_rubrics():
        assert exported(document["rubric"]["code"]) == document


def test_a_version_is_added_to_a_rubric_that_exists(db):
    document = exported()
    document["version"].update(number=2, status="draft")
    version = services.rubric_version_import(data=document)
    assert version.rubric == rubric_version().rubric
    assert (version.number, version.status, version.published_at) == (2, "draft", None)


def test_a_published_version_arrives_published(db):
    document = exported()
    document["rubric"]["code"] = "elsewhere"
    version = services.rubric_version_import(data=document)
    assert version.status == "published" and version.published_at is not None


def test_levels_may_be_left_out(db):
    document = exported()
    document["rubric"]["code"] = "bare"
    for item in document["items"]:
        del item["levels"]
    version = services.rubric_version_import(data=document)
    assert not models.Level.objects.filter(item__version=version).exists()


def broken(change):
    document = exported()
    document["rubric"]["code"] = "broken"
    change(document)
    return document


def setter(path, value):
    """A change that sets document[path...] = value."""

    def change(document):
        target = document
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def deleter(path):
    def change(document):
        target = document
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return change


@pytest.mark.parametrize(
    "change, message",
    [
        (
            setter(["format"], "other/2"),
            "This is not a rubric file: expected format “miiwrap-rubric/1”.",
        ),
        (deleter(["metrics"]), "The file has no “metrics” section."),
        (
            setter(["rubric"], "fidelity"),
            "The rubric needs a code: letters, digits, - or _, up to 40.",
        ),
        (
            setter(["rubric", "code"], "has space"),
            "The rubric needs a code: letters, digits, - or _, up to 40.",
        ),
        (setter(["rubric", "name"], ""), "The rubric needs a name."),
        (setter(["version", "number"], "2"), "The version needs a number: a whole number from 1."),
        (setter(["version", "number"], 0), "The version needs a number: a whole number from 1."),
        (
            setter(["version", "status"], "live"),
            "The version's status must be one of ['draft', 'published', 'retired'].",
        ),
        (setter(["version", "bands"], "high, low"), "The version's bands must be a list of names."),
        (setter(["items"], {"ep-voice": {}}), "“items” must be a list of objects."),
        (setter(["domains", 0], {"code": "x"}), "Every domain needs a code and a name."),
        (
            setter(["items", 0, "code"], None),
            "Every item needs a code: letters, digits, - or _, up to 40.",
        ),
        (
            setter(["items", 0, "scale_max"], "3"),
            "Item ep-voice: scale_max must be a whole number.",
        ),
        (
            setter(["items", 0, "levels"], [{"value": 1}]),
            "Item ep-voice: every level needs a whole-number value and a label.",
        ),
        (
            setter(["items", 0, "levels"], [{"value": 1, "label": "x", "colour": "red"}]),
            "Item ep-voice: a level has only a value, a label and a descriptor.",
        ),
        (setter(["items", 1, "code"], "ep-voice"), "Two items share a code."),
        (setter(["items", 0, "label"], ""), "Item ep-voice: every item needs a code and a label."),
        (
            setter(["items", 0, "kind"], "stars"),
            "Item ep-voice: kind must be one of ['count', 'rating', 'yes_no'].",
        ),
        (setter(["items", 0, "domain"], "nowhere"), "Item ep-voice: no domain “nowhere”."),
        (setter(["items", 0, "scale_min"], 5), "Item ep-voice: scale_min is above scale_max."),
        (setter(["metrics", 0, "label"], None), "Every metric needs a code and a label."),
        (
            setter(["metrics", 0, "numerator"], "ep-voice"),
            "Metric engagement: numerator must be a list of item codes.",
        ),
        (
            setter(["metrics", 0, "kind"], "median"),
            "Metric engagement: kind must be one of ['mean', 'percent', 'percent_of_possible', "
            "'ratio', 'sum'].",
        ),
        (
            setter(["metrics", 0, "numerator"], ["ep-voice", "ep-nope"]),
            "Metric engagement: no such item ep-nope.",
        ),
        (
            setter(["metrics", 4, "thresholds", 0, "minimum"], "85"),
            "Metric fidelity: every threshold needs a band and a number minimum.",
        ),
        (
            setter(["metrics", 4, "thresholds", 0, "minimum"], float("inf")),
            "Metric fidelity: every threshold needs a band and a number minimum.",
        ),
        (
            setter(["metrics", 4, "thresholds", 0, "band"], "superb"),
            "Metric fidelity: band “superb” is unknown.",
        ),
        (setter(["metrics", 0, "is_overall"], True), "Only one metric can be the overall score."),
    ],
)
def test_a_bad_document_is_refused_with_what_to_fix(db, change, message):
    with pytest.raises(rubric_io.RubricFormatError) as refused:
        services.rubric_version_import(data=broken(change))
    assert str(refused.value) == message
    assert not Rubric.objects.filter(code="broken").exists()


def test_what_the_database_refuses_is_a_format_error_and_saves_nothing(db):
    document = broken(setter(["items", 0, "label"], "x" * 5000))
    with pytest.raises(rubric_io.RubricFormatError, match=r"^The file could not be loaded"):
        # SQLite does not enforce lengths, so make a clash it does enforce: a level twice.
        document["items"][1]["levels"].append(document["items"][1]["levels"][0])
        services.rubric_version_import(data=document)
    assert not Rubric.objects.filter(code="broken").exists()


def test_a_version_number_already_taken_is_refused(db):
    with pytest.raises(rubric_io.RubricFormatError, match="already has a version 1"):
        services.rubric_version_import(data=exported())
