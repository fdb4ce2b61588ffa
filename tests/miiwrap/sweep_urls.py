"""A site with one crash of each kind the sweep must catch, for its own test."""

from django.http import HttpResponse
from django.urls import path

from miiwrap.parsing import reads


@reads("n")
def reads_a_number(request):
    return HttpResponse(str(int(request.GET.get("n", "1"))))


def takes_a_code(request, code):
    return HttpResponse(str(int(code)))


def a_form(request):
    if request.method == "POST":
        return HttpResponse(str(int(request.POST["x"])))
    form = '<form method="post"><input name="x" value="1"></form>'
    return HttpResponse(f'<a href="/code/7/">a code</a>{form}')


urlpatterns = [
    path("number/", reads_a_number),
    path("code/<str:code>/", takes_a_code),
    path("form/", a_form),
]
