"""Choice fields that refuse, as a form error, an id no database key can hold: SQLite
raised OverflowError (a 500) looking up 2**63 in a form's practitioner field."""

import pytest
from django.core.exceptions import ValidationError

from miiwrap.forms import UsableModelChoiceField, UsableModelMultipleChoiceField
from miiwrap.people.models import Person
from tests.factories import make_org, make_person

TOO_BIG = str(2**63)


@pytest.mark.django_db
@pytest.mark.parametrize("value", [TOO_BIG, "²", "-1", "0"])
def test_one_choice_refuses_an_impossible_id(value):
    field = UsableModelChoiceField(queryset=Person.objects.all())
    with pytest.raises(ValidationError) as refused:
        field.clean(value)
    assert refused.value.code == "invalid_choice"


@pytest.mark.django_db
def test_many_choices_refuse_an_impossible_id_among_good_ones():
    person = make_person(make_org("Riverbend Family Services"), "practitioner")
    field = UsableModelMultipleChoiceField(queryset=Person.objects.all())
    assert list(field.clean([str(person.pk)])) == [person]
    with pytest.raises(ValidationError) as refused:
        field.clean([str(person.pk), TOO_BIG])
    assert refused.value.code == "invalid_pk_value"


@pytest.mark.django_db
def test_a_good_id_is_still_chosen():
    person = make_person(make_org("Riverbend Family Services"), "practitioner")
    assert UsableModelChoiceField(queryset=Person.objects.all()).clean(str(person.pk)) == person
