from django.urls import path

from . import operator_views, preview_views, views

app_name = "sync"

urlpatterns = [
    path("history/", views.history, name="history"),
    path("runs/<int:pk>/", views.run_detail, name="run"),
    path("modules/<str:module>/status/", views.module_status, name="status"),
    path("modules/<str:module>/instant/", views.instant_sync, name="instant"),
    path("modules/<str:module>/pause/", views.pause, name="pause"),
    path("modules/<str:module>/resume/", views.resume, name="resume"),
    path("modules/<str:module>/issues/", operator_views.issues, name="issues"),
    path("modules/<str:module>/issues/retry/", operator_views.issues_retry, name="issues_retry"),
    path("modules/<str:module>/held-deletions/", operator_views.held_decide, name="held_decide"),
    path("modules/<str:module>/preview/", preview_views.preview, name="preview"),
    path("modules/<str:module>/preview/start/", preview_views.preview_start, name="preview_start"),
    path("modules/<str:module>/preview/decide/", preview_views.preview_decide, name="preview_decide"),
    path("modules/<str:module>/preview/sync/", preview_views.preview_sync, name="preview_sync"),
    path("resync/<str:erp_model>/<int:pk>/", views.resync, name="resync"),
    path("crm-search/<str:module>/", views.crm_search, name="crm_search"),
    path("crm-import/<str:module>/", views.crm_import, name="crm_import"),
    path("delete-integration/", views.delete_integration, name="delete_integration"),
    path("crm-notify/", views.crm_notify, name="crm_notify"),
]
