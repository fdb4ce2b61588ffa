from django.urls import path

from miiwrap.dashboards import views

app_name = "dashboards"

urlpatterns = [
    path("", views.leader_dashboard, name="leader"),
    path("capacity/", views.capacity_comparison, name="capacity"),
    path("coach/", views.coach_dashboard, name="coach"),
    path("coach/<int:pk>/", views.coach_dashboard, name="coach"),
    path("practitioner/", views.practitioner_dashboard, name="practitioner"),
    path("practitioner/<int:pk>/", views.practitioner_dashboard, name="practitioner"),
]
