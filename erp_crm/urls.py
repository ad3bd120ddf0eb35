from django.contrib import admin
from django.urls import include, path

from sync.telemetry import metrics_view

urlpatterns = [
    path("", include("organizations.urls")),
    path("sales/", include("customers.urls")),
    path("purchases/", include("vendors.urls")),
    path("items/", include("items.urls")),
    path("settings/zoho/", include("integration.urls")),
    path("sync/", include("sync.urls")),
    path("django-admin/", admin.site.urls),
    path("metrics", metrics_view, name="metrics"),
]
