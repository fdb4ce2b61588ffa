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
]
