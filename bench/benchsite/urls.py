from django.urls import include, path

from bench.benchsite.views import bare, floor

urlpatterns = [
    path("bench/floor/", floor),
    path("bench/bare/", bare),
    path("", include("fusion_site.urls")),
]
