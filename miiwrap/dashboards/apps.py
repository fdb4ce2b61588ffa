from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    name = "miiwrap.dashboards"
    label = "dashboards"
    verbose_name = "Dashboards"

    def ready(self):
        from miiwrap.dashboards import inputs

        inputs.register()
