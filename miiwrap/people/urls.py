from django.urls import path

from miiwrap.people import views

app_name = "people"
urlpatterns = [
    path("", views.directory, name="directory"),
    path("<int:pk>/", views.detail, name="detail"),
]
