from django.urls import path

from coaching import views

app_name = "coaching"

urlpatterns = [
    path("alerts/", views.alert_list, name="alerts"),
    path("alerts/<int:pk>/", views.alert_detail, name="alert"),
    *[
        path(f"alerts/<int:pk>/{action}/", views.alert_act, {"action": action}, name=action)
        for action in views.ACTIONS
    ],
    path("plans/", views.plan_list, name="plans"),
    path("plans/new/", views.plan_new, name="plan_new"),
    path("plans/<int:pk>/", views.plan_detail, name="plan"),
    path("plans/<int:pk>/edit/", views.plan_edit, name="plan_edit"),
    path("plans/<int:pk>/comment/", views.plan_comment, name="plan_comment"),
    path("plans/<int:pk>/goals/new/", views.goal_new, name="goal_new"),
    path("plans/<int:pk>/sessions/new/", views.session_new, name="session_new"),
    path("goals/<int:pk>/", views.goal_edit, name="goal_edit"),
    path("goals/<int:pk>/met/", views.goal_met, name="goal_met"),
    path("people/<int:pk>/sessions/new/", views.session_with, name="session_with"),
    path("sessions/<int:pk>/", views.session_edit, name="session_edit"),
]
