from django.contrib import admin
from django.urls import path

from webhooks.console import views

app_name = "console"
urlpatterns = [
    path("", admin.site.admin_view(views.ontraport_page), name="ontraport"),
    path("access-key/", admin.site.admin_view(views.access_key_reveal), name="access-key"),
    path("test-webhook/", admin.site.admin_view(views.test_webhook), name="test-webhook"),
    path(
        "test-webhook/<int:delivery_id>/",
        admin.site.admin_view(views.test_webhook_result),
        name="test-result",
    ),
]
