from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.views.generic import RedirectView

from certification import views as certification_views
from miiwrap.people import views as people_views
from miiwrap.people.forms import SignInForm

urlpatterns = [
    path("", people_views.home, name="home"),
    # Browsers ask for /favicon.ico before reading a page's icon link (and for pages that
    # have none, such as a PDF); send them to the same icon. Lazy: the static files'
    # manifest is read on the first request, not when the URLs load.
    path("favicon.ico", RedirectView.as_view(url=lazy(static, str)("favicon.svg"))),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            authentication_form=SignInForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path(
        "accounts/second-factor/",
        people_views.second_factor_setup,
        name="second_factor",
    ),
    path(
        "accounts/second-factor/code/",
        people_views.second_factor_verify,
        name="second_factor_verify",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("people/", include("miiwrap.people.urls")),
    path("observations/", include("observations.urls")),
    path("certification/", include("certification.urls")),
    path("coaching/", include("coaching.urls")),
    path("events/", include("miiwrap.community.urls")),
    path("dashboards/", include("miiwrap.dashboards.urls")),
    path("notifications/", include("miiwrap.notifications.urls")),
    path("implementation/", include("miiwrap.implementation.urls")),
    path("verify/<str:code>/", certification_views.verify, name="verify"),
    path("admin/", admin.site.urls),
]
