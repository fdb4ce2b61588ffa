from django.urls import path

from certification import views

app_name = "certification"

urlpatterns = [
    path("", views.index, name="index"),
    path("queue/", views.queue, name="queue"),
    path("people/<int:pk>/<slug:code>/decide/", views.decide, name="decide"),
    path("periods/<int:pk>/revoke/", views.revoke, name="revoke"),
    path("periods/<int:pk>/certificate/", views.certificate, name="certificate"),
    path("<slug:code>/", views.roster, name="roster"),
]
