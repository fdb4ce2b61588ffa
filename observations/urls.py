from django.urls import path

from observations import views

app_name = "observations"

urlpatterns = [
    path("", views.observation_list, name="list"),
    path("new/", views.observation_new, name="new"),
    path("preview/", views.observation_preview, name="preview"),
    path("<int:pk>/", views.observation_detail, name="detail"),
    path("<int:pk>/edit/", views.observation_edit, name="edit"),
    path("<int:pk>/acknowledge/", views.observation_acknowledge, name="acknowledge"),
    path("<int:pk>/amend/", views.observation_amend, name="amend"),
]
