from django.urls import path

from observations import views

app_name = "observations"

urlpatterns = [
    path("", views.observation_list, name="list"),
    path("new/", views.observation_new, name="new"),
    path("disputes/", views.dispute_list, name="disputes"),
    path("preview/", views.observation_preview, name="preview"),
    path("<int:pk>/", views.observation_detail, name="detail"),
    path("<int:pk>/edit/", views.observation_edit, name="edit"),
    path("<int:pk>/acknowledge/", views.observation_acknowledge, name="acknowledge"),
    path("<int:pk>/amend/", views.observation_amend, name="amend"),
    path("<int:pk>/dispute/", views.observation_dispute, name="dispute"),
    path("<int:pk>/dispute/answer/", views.dispute_answer, name="dispute_answer"),
    path("<int:pk>/co-observer/", views.co_observation_invite, name="co_invite"),
    path("co-observations/<int:pk>/", views.co_observation, name="co_observation"),
    path("co-observations/<int:pk>/withdraw/", views.co_observation_withdraw, name="co_withdraw"),
    path("calibration/", views.calibration_list, name="calibration"),
    path("reliability/", views.reliability_report, name="reliability"),
    path(
        "calibration/rounds/<int:round_pk>/cases/<int:case_pk>/",
        views.calibration_score,
        name="calibration_score",
    ),
    path("calibration/attempts/<int:pk>/", views.calibration_attempt, name="calibration_attempt"),
    path("calibration/cases/<int:pk>/", views.calibration_case, name="calibration_case"),
    path("calibration/cases/<int:pk>/master/", views.calibration_master, name="calibration_master"),
    path(
        "calibration/cases/<int:pk>/transcript/",
        views.calibration_transcript,
        name="calibration_transcript",
    ),
]
