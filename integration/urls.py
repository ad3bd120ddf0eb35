from django.urls import path

from . import views

app_name = "integration"

urlpatterns = [
    path("", views.zoho_apps, name="zoho_apps"),
    path("connect/", views.connect, name="connect"),
    path("oauth/callback/", views.oauth_callback, name="oauth_callback"),
    path("select-organization/", views.select_organization, name="select_organization"),
    path("crm/", views.details, name="details"),
    path("crm/disable/", views.disable, name="disable"),
    path("crm/enable/", views.enable, name="enable"),
    path("crm/configure/<str:module>/", views.configure_module, name="configure"),
    path("crm/configure/<str:module>/create-field/", views.create_custom_field, name="create_custom_field"),
]
