"""The project's URLs plus `bench/bare/`, a view that does nothing: the baseline for bench/run.py."""

from django.http import HttpResponse
from django.urls import path

from hospital.urls import urlpatterns as project_urlpatterns


def bare(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [*project_urlpatterns, path("bench/bare/", bare, name="bench_bare")]
