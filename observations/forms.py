from django import forms

from coaching.models import CoachAssignment, TrainerAssignment
from miiwrap import text
from miiwrap.once.forms import OnceForm
from miiwrap.people.models import Person
from observations import scoring
from observations.models import ActivityType, CoObservation, Observation, RubricVersion

ITEM_PREFIX = "item__"
NA_CHOICE = (scoring.NA, "Not applicable")


def caseload_for(coach, rubric):
    """Whom a coach may pick to observe on `rubric`: those of their current caseload (of
    anyone still working, for the purveyor) who hold the role the rubric observes (the
    same rule as Rubric.audience_problem, which the submit and the import apply). On the
    coaching rubric the caseload is the coaches they are assigned to as a trainer."""
    # With the organization: the submit reads its local date (services.date_problem).
    people = rubric.observable_among(Person.objects.select_related("team", "organization"))
    people = people.order_by("last_name", "first_name")
    if coach.organization.is_purveyor:
        return people.filter(leave_date=None).exclude(pk=coach.pk)
    if rubric.observes_coaching:
        current = TrainerAssignment.objects.current().filter(trainer=coach).values("coach_id")
    else:
        current = CoachAssignment.objects.current().filter(coach=coach).values("practitioner_id")
    return people.filter(pk__in=current)


class ThisVersion(forms.ModelChoiceField):
    """The rubric version the form was drawn for, posted back: checked against it, with no
    query. Another version has other items: the form must be drawn again for it."""

    def __init__(self, version):
        super().__init__(queryset=RubricVersion.objects.filter(pk=version.pk))
        self.version = version

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if str(value) != str(self.version.pk):
            raise forms.ValidationError("Reload the form to switch rubric; the items differ.")
        return self.version


class ItemScores:
    """One field per item of `self.version` (named item__<code>), for the forms that score
    a rubric: an observation, a calibration case, its master code."""

    def add_items(self, scores):
        self.definition = self.version.definition()
        for item in self.version.items.all():
            self.fields[ITEM_PREFIX + item.code] = item_field(item)
            self.initial.setdefault(ITEM_PREFIX + item.code, scores.get(item.code))

    def scores(self):
        """The item scores entered so far, as stored: ints, "na", unscored items left out."""
        found = {}
        for item in self.definition.items:
            value = self.cleaned_data.get(ITEM_PREFIX + item.code)
            if value not in (None, ""):
                found[item.code] = value if value == scoring.NA else int(value)
        return found

    def item_fields(self):
        """Bound item fields grouped by domain, for the template."""
        groups = {}
        for item in self.version.items.all():
            domain = item.domain.name if item.domain_id else "Items"
            groups.setdefault(domain, []).append((item, self[ITEM_PREFIX + item.code]))
        return groups.items()


class ObservationForm(ItemScores, OnceForm, forms.ModelForm):
    """The coach's form: the visit, one field per rubric item, and the feedback.

    Item fields are named item__<code>. Fields only check their own value here; whether
    every required item is scored is decided on submit (see services.check_observation).
    """

    duration_minutes = forms.IntegerField(
        label="Duration (minutes)",
        required=False,
        min_value=text.DURATION_MIN,
        max_value=text.DURATION_MAX,
        help_text=f"From {text.DURATION_MIN} to {text.DURATION_MAX} minutes.",
    )

    class Meta:
        model = Observation
        fields = [
            "practitioner",
            "rubric_version",
            "observed_on",
            "activity",
            "mode",
            "duration_minutes",
            "strengths",
            "growth_areas",
            "next_steps",
        ]
        widgets = {
            "observed_on": forms.DateInput(attrs={"type": "date"}),
            "strengths": forms.Textarea(attrs={"rows": 3}),
            "growth_areas": forms.Textarea(attrs={"rows": 3}),
            "next_steps": forms.Textarea(attrs={"rows": 3}),
        }
        labels = {"observed_on": "Date observed"}

    def __init__(self, *args, coach, version, **kwargs):
        super().__init__(*args, **kwargs)
        self.coach, self.version = coach, version
        self.fields["practitioner"].queryset = caseload_for(coach, version.rubric)
        if version.rubric.observes_coaching:
            self.fields["practitioner"].label = "Coach observed"
        self.fields["rubric_version"] = ThisVersion(version)
        self.fields["activity"].queryset = ActivityType.objects.filter(is_active=True)
        self.add_items(self.instance.scores)
        for name in ("strengths", "growth_areas", "next_steps"):
            self.fields[f"{name}_items"] = forms.MultipleChoiceField(
                choices=[(i.code, i.label) for i in self.definition.items],
                required=False,
                label="About these items",
                widget=forms.SelectMultiple(attrs={"size": 4}),
            )
            self.initial.setdefault(f"{name}_items", getattr(self.instance, f"{name}_items"))

    # What this form's own fields settle before the model is checked: a practitioner,
    # version or activity is found in its field's queryset (the model's check would look
    # each up again, a query each), and the duration's range is the field's (the model's
    # check constraint would ask the database).
    SETTLED = ("practitioner", "rubric_version", "activity", "duration_minutes")

    def _get_validation_exclusions(self):
        excluded = super()._get_validation_exclusions()
        return excluded | {name for name in self.SETTLED if name in self.cleaned_data}

    def save(self, commit=False):
        observation = super().save(commit=False)
        observation.coach = self.coach
        observation.scores = self.scores()
        for name in ("strengths", "growth_areas", "next_steps"):
            setattr(observation, f"{name}_items", self.cleaned_data.get(f"{name}_items", []))
        return observation


def item_field(item):
    """A form field for one rubric item: radios for ratings and yes/no, a number for counts."""
    options = {"required": False, "label": item.label, "help_text": item.guidance}
    if item.kind == scoring.COUNT:
        return forms.IntegerField(
            min_value=0,
            max_value=scoring.COUNT_MAX,
            widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": 0}),
            **options,
        )
    if item.kind == scoring.YES_NO:
        choices = [("1", "Yes"), ("0", "No")]
    else:
        levels = {level.value: level.label for level in item.levels.all()}
        values = range(item.scale_min, item.scale_max + 1)
        choices = [(str(v), f"{v} {levels.get(v, '')}".strip()) for v in values]
    if item.allows_na:
        choices.append(NA_CHOICE)
    return forms.ChoiceField(choices=choices, widget=forms.RadioSelect, **options)


class AcknowledgeForm(OnceForm):
    response = text.prose(
        text.FEEDBACK,
        required=False,
        label="Your response (optional)",
        help_text="Your coach will see it.",
    )


class AmendForm(forms.Form):
    reason = text.prose(
        text.NOTE,
        rows=2,
        help_text="Why the submitted observation is being changed; kept with the old values.",
    )


class DisputeForm(OnceForm):
    reason = text.prose(
        text.NOTE,
        rows=3,
        label="What is wrong with this observation?",
        help_text="Your coach reads it and answers. Until then, the observation does not "
        "count toward your certification.",
    )


class DisputeAnswerForm(OnceForm):
    answer = text.prose(
        text.NOTE,
        rows=3,
        label="Your answer",
        help_text="Explain why the observation stands as it is; this settles the dispute. "
        "To change the observation instead, amend it.",
    )


class DisputeListForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("open", "Open"), ("settled", "Settled"), ("all", "All")],
        required=False,
        label="Show",
    )


# Calibration against master codes ---------------------------------------------------------

WHY_PREFIX = "why__"


class ScoresForm(ItemScores, OnceForm):
    """Scores alone, with the item widgets of a live observation and no practitioner, visit
    or feedback: a coach's scores of a calibration case, a second observer's of a visit."""

    def __init__(self, *args, version, scores, **kwargs):
        super().__init__(*args, **kwargs)
        self.version = version
        self.add_items(scores)


class MasterCodeForm(ItemScores, forms.Form):
    """The expert's code of a case: a score and a written rationale for every item scored
    (a behaviour count explains itself; its rationale is optional)."""

    def __init__(self, *args, version, scores, rationale, **kwargs):
        super().__init__(*args, **kwargs)
        self.version = version
        self.add_items(scores)
        for item in self.definition.items:
            self.fields[WHY_PREFIX + item.code] = text.prose(
                text.NOTE,
                rows=2,
                required=item.kind != scoring.COUNT,
                label=f"Why: {item.label}",
                help_text="Shown to each coach once they have submitted their own scores.",
            )
            self.initial.setdefault(WHY_PREFIX + item.code, rationale.get(item.code, ""))

    def rationale(self):
        return {
            item.code: self.cleaned_data.get(WHY_PREFIX + item.code, "")
            for item in self.definition.items
        }


class CoObserverForm(forms.Form):
    second_observer = forms.ModelChoiceField(
        queryset=None,
        label="Second observer",
        widget=forms.Select(attrs={"class": "form-select"}),
        help_text="A coach who was at the visit too. They score it on their own; neither of "
        "you sees the other's scores until both have scored.",
    )

    def __init__(self, *args, observation, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["second_observer"].queryset = CoObservation.candidates(observation)
