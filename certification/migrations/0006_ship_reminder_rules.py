"""The purveyor's default reminders for each shipped program (admins edit them freely):
90, 60, 30 and 7 days before expiry, on lapse (the day after expiry) and at grace end."""

from django.db import migrations

GREETING = "Hello {{ recipient }},\n\n"
SIGN_OFF = "\n\nSee where things stand: {{ link }}\n"
BEFORE = (
    "{{ name }}: {{ program }} expires on {{ expiry_date }}",
    GREETING + "{{ name }}'s {{ program }} certification expires on {{ expiry_date }}, "
    "in {{ days_left }} days. The recertification window is open until then.\n\n"
    "Progress toward recertification: {{ progress }}" + SIGN_OFF,
)
ON_LAPSE = (
    "{{ name }}: {{ program }} expired on {{ expiry_date }}",
    GREETING + "{{ name }}'s {{ program }} certification expired on {{ expiry_date }}. "
    "Renewal is still possible during grace, until {{ grace_end }}.\n\n"
    "Progress toward recertification: {{ progress }}" + SIGN_OFF,
)
GRACE_END = (
    "{{ name }}: {{ program }} has lapsed",
    GREETING + "Grace for {{ name }}'s {{ program }} certification ended on {{ grace_end }}, "
    "so it has lapsed. {{ first_name }} starts the path to a first certification again." + SIGN_OFF,
)
RULES = [
    ("before_expiry", 90, BEFORE),
    ("before_expiry", 60, BEFORE),
    ("before_expiry", 30, BEFORE),
    ("before_expiry", 7, BEFORE),
    ("after_expiry", 1, ON_LAPSE),
    ("after_grace", 1, GRACE_END),
]


def load(apps, schema_editor):
    Program = apps.get_model("certification", "Program")
    ReminderRule = apps.get_model("certification", "ReminderRule")
    for program in Program.objects.all():
        for timing, days, (subject, body) in RULES:
            ReminderRule.objects.get_or_create(
                program=program,
                organization=None,
                timing=timing,
                days=days,
                defaults={"subject": subject, "body_text": body},
            )


class Migration(migrations.Migration):
    dependencies = [
        ("certification", "0005_reminders"),
    ]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
