from django.urls import path

from coaching import views

app_name = "coaching"

urlpatterns = [
    path("alerts/", views.alert_list, name="alerts"),
    path("alerts/<int:pk>/", views.alert_detail, name="alert"),
    path("alerts/<int:pk>/acknowledge/", views.alert_acknowledge, name="acknowledge"),
    path("alerts/<int:pk>/resolve/", views.alert_resolve, name="resolve"),
]
