from django.urls import path

from miiwrap.people import views

app_name = "people"
urlpatterns = [
    path("", views.directory, name="directory"),
    path("<int:pk>/", views.detail, name="detail"),
    path("new-hires/", views.new_hires, name="new_hires"),
]
