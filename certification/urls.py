from django.urls import path

from certification import views

app_name = "certification"

urlpatterns = [
    path("", views.index, name="index"),
    path("queue/", views.queue, name="queue"),
    path("reminders/", views.reminders, name="reminders"),
    path("reminders/retry/", views.retry_failed, name="retry_failed"),
    path("reminders/<int:pk>/retry/", views.retry_reminder, name="retry_reminder"),
    path("people/<int:pk>/<slug:code>/decide/", views.decide, name="decide"),
    path("periods/<int:pk>/revoke/", views.revoke, name="revoke"),
    path("periods/<int:pk>/certificate/", views.certificate, name="certificate"),
    path("<slug:code>/", views.roster, name="roster"),
]
