from django.urls import path

from miiwrap.community import views

app_name = "community"

urlpatterns = [
    path("", views.event_list, name="list"),
    path("new/", views.event_new, name="new"),
    path("<int:pk>/", views.event_detail, name="event"),
    path("<int:pk>/edit/", views.event_edit, name="edit"),
    path("<int:pk>/register/", views.event_register, name="register"),
    path("<int:pk>/attendance/", views.event_attendance, name="attendance"),
]
