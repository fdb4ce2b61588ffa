import django_filters
from django import forms
from django.db.models import Q

from coaching import goals
from coaching.models import CoachAssignment, CoachingPlan, CoachingSession, DriftAlert, Goal
from miiwrap import text
from miiwrap.forms import UsableModelChoiceField, UsableModelMultipleChoiceField
from miiwrap.once.forms import OnceForm
from miiwrap.parsing import SaneDateField
from miiwrap.people.access import viewer_for
from miiwrap.people.models import Person, Role
from observations.models import Rubric


class AlertFilter(django_filters.FilterSet):
    """The alert list's filters: status (not closed unless another is chosen), scope,
    rubric."""

    status = django_filters.ChoiceFilter(
        label="Status",
        choices=[
            ("active", "Not closed"),
            *DriftAlert.Status.choices,
            ("all", "All"),
        ],
        method="filter_status",
        empty_label=None,
        null_value=None,
    )
    scope = django_filters.ChoiceFilter(
        label="About", choices=DriftAlert.Scope.choices, empty_label="Anything"
    )
    rubric = django_filters.ModelChoiceFilter(
        queryset=Rubric.objects.of_people(), label="Rubric", empty_label="Any"
    )

    class Meta:
        model = DriftAlert
        fields = ["status", "scope", "rubric"]

    def __init__(self, data=None, *args, **kwargs):
        data = data.copy() if data is not None else {}
        data.setdefault("status", "active")
        super().__init__(data, *args, **kwargs)
        for field in self.form.fields.values():
            field.widget.attrs["class"] = "form-select"

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if "status" in self.form.errors:
            # The form says what was wrong; the list keeps its default meanwhile.
            queryset = self.filter_status(queryset, "status", "active")
        return queryset

    def filter_status(self, queryset, name, value):
        if value == "active":
            return queryset.active()
        if value == "all":
            return queryset
        return queryset.filter(status=value)


class AcknowledgeForm(forms.Form):
    said = "note"
    note = text.prose(
        text.NOTE,
        label="What you will do",
        error_messages={
            "required": "Write a short note on what you will do about it; the note is what "
            "acknowledging records.",
            "max_length": "Keep the note to %(limit_value)d characters (it has %(show_value)d).",
        },
        help_text="Say what you have seen and what you will do, e.g. a coaching session.",
    )


class AddressForm(forms.Form):
    said = "note"
    note = text.prose(
        text.NOTE,
        rows=2,
        label="What is being done",
        error_messages={
            "required": "Say what is being done about it, e.g. the coaching sessions "
            "planned; the note is what marking it records.",
            "max_length": "Keep the note to %(limit_value)d characters (it has %(show_value)d).",
        },
        help_text="The alert stays until the scores are back in control; the drift job "
        "closes it then.",
    )


class DismissForm(forms.Form):
    said = "reason"
    reason = text.prose(
        text.NOTE,
        rows=2,
        label="Why it is a false alarm",
        error_messages={
            "required": "Say why it is a false alarm, e.g. the observations were of "
            "unusual sessions; dismissing needs a reason.",
            "max_length": "Keep the reason to %(limit_value)d characters (it has %(show_value)d).",
        },
        help_text="Nobody is told of it again; it stays in the list and the drift job "
        "closes it once the scores are back in control.",
    )


# Coaching plans ------------------------------------------------------------------------------


class AddressPlanForm(AddressForm):
    """Being addressed, for an alert about a practitioner: also which of their coaching
    plans answers it (their active plan, or the one it names already)."""

    plan = UsableModelChoiceField(
        queryset=CoachingPlan.objects.none(),
        required=False,
        label="Coaching plan",
        empty_label="No plan yet",
        help_text="The plan that answers this alert.",
    )

    def __init__(self, *args, plans=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = CoachingPlan.objects.filter(pk__in=[p.pk for p in plans])
        self.fields["plan"].label_from_instance = lambda plan: f"Plan from {plan.started_on}"


def practitioner_choices(coach):
    """Whom a coach may start a plan for: the practitioners currently assigned to them."""
    current = CoachAssignment.objects.current().filter(coach=coach).values("practitioner_id")
    people = Person.objects.filter(pk__in=current).with_role(Role.PRACTITIONER)
    return people.order_by("last_name", "first_name")


def coach_choices(organization):
    """Who may be named a plan's coach: the organization's coaches and the purveyor's."""
    coaches = Person.objects.with_role(Role.COACH).filter(leave_date=None)
    home = Q(organization=organization) | Q(organization__is_purveyor=True)
    return coaches.filter(home).order_by("last_name", "first_name")


class PlanStartForm(OnceForm):
    practitioner = UsableModelChoiceField(queryset=Person.objects.none(), label="Practitioner")
    coaches = UsableModelMultipleChoiceField(
        queryset=Person.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: the practitioner's current coaches.",
    )
    started_on = SaneDateField(label="Starts on", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, organization, today, practitioners, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["practitioner"].queryset = practitioners
        self.fields["coaches"].queryset = coach_choices(organization)

    def clean_started_on(self):
        return not_after(self.cleaned_data["started_on"], self.today, "A plan")


def not_after(day, today, what):
    if day > today:
        raise forms.ValidationError(f"{what} cannot start in the future (today is {today}).")
    return day


def _grouped(versions, entries):
    """Choices grouped by rubric: [(rubric name, [(code, label)])]."""
    return [
        (version.rubric.name, [(entry.code, entry.label) for entry in entries(version)])
        for version in versions.values()
    ]


class GoalFields(forms.Form):
    """What a goal aims at; checked against the rubric's current version (coaching.goals)."""

    rubric = UsableModelChoiceField(queryset=Rubric.objects.none(), label="Rubric")
    item_codes = forms.MultipleChoiceField(
        required=False,
        label="Items",
        widget=forms.SelectMultiple(attrs={"size": 5}),
        help_text="One or more items; or a metric below instead.",
    )
    metric_code = forms.ChoiceField(required=False, label="Or a metric")
    description = forms.CharField(
        max_length=200,
        label="Goal",
        help_text="In a few words, e.g. “summaries before next steps”.",
    )
    target = forms.FloatField(
        label="Target",
        help_text="For items: their mean as a % of their range (0 to 100); for a metric, in "
        "its own unit (a percentage, a rating, a ratio).",
    )

    def __init__(self, *args, versions, **kwargs):
        super().__init__(*args, **kwargs)
        self.versions = versions
        self.fields["rubric"].queryset = Rubric.objects.filter(pk__in=list(versions))
        self.fields["item_codes"].choices = _grouped(
            versions, lambda v: goals.aimable_items(v.definition())
        )
        metrics = _grouped(versions, lambda v: goals.aimable_metrics(v.definition()))
        self.fields["metric_code"].choices = [("", "None"), *metrics]

    def clean(self):
        data = super().clean()
        rubric = data.get("rubric")
        if rubric is None or {"target", "item_codes", "metric_code"} & set(self.errors):
            return data
        definition = self.versions[rubric.pk].definition()
        found = goals.problems(
            definition, data.get("item_codes", []), data.get("metric_code", ""), data.get("target")
        )
        for name, problem in found.items():
            self.add_error(name, problem)
        return data

    def goal_values(self):
        names = ("rubric", "item_codes", "metric_code", "description", "target")
        return {name: self.cleaned_data[name] for name in names}


class GoalForm(GoalFields):
    """One goal of a plan being started; `decline_on` comes with a proposal from an alert."""

    decline_on = SaneDateField(required=False, widget=forms.HiddenInput)

    def goal_values(self):
        return {**super().goal_values(), "decline_on": self.cleaned_data.get("decline_on")}


class BaseGoalFormSet(forms.BaseFormSet):
    def add_fields(self, form, index):
        super().add_fields(form, index)
        form.fields["DELETE"].label = "Leave this goal out"

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        if not self.chosen():
            raise forms.ValidationError("Add at least one goal: a plan works on something.")

    def chosen(self):
        """The goals kept: filled in and not left out."""
        return [
            form.goal_values()
            for form in self.forms
            if form.cleaned_data and not self._should_delete_form(form)
        ]


GoalFormSet = forms.formset_factory(
    GoalForm, formset=BaseGoalFormSet, extra=1, can_delete=True, max_num=10, validate_max=True
)


class GoalEditForm(GoalFields):
    status = forms.ChoiceField(choices=Goal.Status.choices)
    status_reason = text.prose(
        text.NOTE,
        rows=2,
        required=False,
        label="Why (met or dropped)",
        help_text="Required when the goal is dropped.",
    )

    def clean(self):
        data = super().clean()
        if data.get("status") == Goal.Status.DROPPED and not data.get("status_reason"):
            self.add_error("status_reason", "Say why the goal is dropped.")
        return data

    def goal_values(self):
        values = super().goal_values()
        values.pop("rubric")  # a goal stays on its rubric
        return {**values, "status": self.cleaned_data["status"], **self._reason()}

    def _reason(self):
        return {"status_reason": self.cleaned_data.get("status_reason", "")}


class PlanEditForm(forms.Form):
    coaches = UsableModelMultipleChoiceField(
        queryset=Person.objects.none(), widget=forms.CheckboxSelectMultiple
    )
    status = forms.ChoiceField(choices=CoachingPlan.Status.choices)
    closed_reason = text.prose(
        text.NOTE, rows=2, required=False, label="Why it is closed", help_text="Required to close."
    )

    def __init__(self, *args, plan, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["coaches"].queryset = coach_choices(plan.organization)

    def clean(self):
        data = super().clean()
        if data.get("status") == CoachingPlan.Status.CLOSED and not data.get("closed_reason"):
            self.add_error("closed_reason", "Say why the plan is closed, e.g. goals met.")
        return data


class SessionForm(OnceForm, forms.ModelForm):
    held_on = SaneDateField(label="Date", widget=forms.DateInput(attrs={"type": "date"}))
    minutes = forms.IntegerField(
        label="Length (minutes)",
        min_value=text.DURATION_MIN,
        max_value=text.DURATION_MAX,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        help_text=f"From {text.DURATION_MIN} to {text.DURATION_MAX} minutes.",
    )

    class Meta:
        model = CoachingSession
        fields = ["held_on", "minutes", "format", "goals", "notes", "next_step"]
        field_classes = {"goals": UsableModelMultipleChoiceField}
        widgets = {
            "format": forms.RadioSelect,
            "goals": forms.CheckboxSelectMultiple,
            "notes": forms.Textarea(attrs={"rows": 4}),
            "next_step": forms.Textarea(attrs={"rows": 2}),
        }
        labels = {"goals": "Worked on in this session"}

    def __init__(self, *args, plan, today, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        if plan is None:
            del self.fields["goals"]  # a session on its own works on no plan's goals
        else:
            offered = Q(status=Goal.Status.ACTIVE)
            if self.instance.pk:
                offered |= Q(pk__in=self.instance.goals.values("pk"))
            self.fields["goals"].queryset = plan.goals.filter(offered)
        self.fields["format"].choices = CoachingSession.Format.choices

    def clean_held_on(self):
        held_on = self.cleaned_data["held_on"]
        if held_on > self.today:
            raise forms.ValidationError(
                f"A session cannot be in the future (today is {self.today})."
            )
        return held_on

    def session_values(self):
        names = ("held_on", "minutes", "format", "notes", "next_step")
        return {
            **{name: self.cleaned_data[name] for name in names},
            "goals": self.cleaned_data.get("goals", []),
        }


class CommentForm(OnceForm):
    text = text.prose(text.NOTE, rows=2, label="Comment")


class GoalAddForm(OnceForm, GoalFields):
    """A goal added to a plan already under way."""


class PlanFilter(django_filters.FilterSet):
    """The plan list's filters: status (active unless another is chosen) and, for those
    who see several coaches' plans, the coach."""

    status = django_filters.ChoiceFilter(
        label="Status",
        choices=[*CoachingPlan.Status.choices, ("all", "All")],
        method="filter_status",
        empty_label=None,
        null_value=None,
    )
    coach = django_filters.ModelChoiceFilter(
        queryset=Person.objects.none(), label="Coach", empty_label="Any", method="filter_coach"
    )

    class Meta:
        model = CoachingPlan
        fields = ["status", "coach"]

    def __init__(self, data=None, *args, user, **kwargs):
        data = data.copy() if data is not None else {}
        data.setdefault("status", CoachingPlan.Status.ACTIVE)
        super().__init__(data, *args, **kwargs)
        viewer = viewer_for(user)
        self.by_coach = viewer.sees_everything or viewer.sees_organization
        coaches = Person.objects.with_role(Role.COACH).visible_to(user)
        self.filters["coach"].queryset = coaches.order_by("last_name", "first_name")
        if not self.by_coach:
            del self.filters["coach"]
        for field in self.form.fields.values():
            field.widget.attrs["class"] = "form-select"

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if "status" in self.form.errors:
            queryset = self.filter_status(queryset, "status", CoachingPlan.Status.ACTIVE)
        return queryset

    def filter_status(self, queryset, name, value):
        return queryset if value == "all" else queryset.filter(status=value)

    def filter_coach(self, queryset, name, value):
        return queryset.filter(coaches=value) if value else queryset
