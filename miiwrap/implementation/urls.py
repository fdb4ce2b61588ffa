from django.urls import path

from miiwrap.implementation import views

app_name = "implementation"

urlpatterns = [
    path("", views.index, name="index"),
    path("organizations/<int:pk>/", views.organization, name="organization"),
    path("organizations/<int:pk>/readiness/new/", views.assessment_new, name="assessment_new"),
    path("organizations/<int:pk>/plan/", views.plan_detail, name="plan"),
    path("organizations/<int:pk>/plan/actions/new/", views.action_new, name="action_new"),
    path("readiness/<int:pk>/", views.assessment_detail, name="assessment"),
    path("readiness/<int:pk>/edit/", views.assessment_edit, name="assessment_edit"),
    path("readiness/<int:pk>/plan/", views.plan_from_weakest, name="plan_from_weakest"),
    path("actions/<int:pk>/", views.action_edit, name="action_edit"),
]
