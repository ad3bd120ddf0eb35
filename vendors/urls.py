from django.urls import path

from . import views

app_name = "vendors"

urlpatterns = [
    path("vendors/", views.vendor_list, name="list"),
    path("vendors/new/", views.vendor_create, name="create"),
    path("vendors/lookup/", views.vendor_lookup, name="lookup"),
    path("vendors/<int:pk>/", views.vendor_detail, name="detail"),
    path("vendors/<int:pk>/edit/", views.vendor_edit, name="edit"),
    path("vendors/<int:pk>/toggle-active/", views.vendor_toggle_active, name="toggle_active"),
    path("bills/", views.bill_list, name="bill_list"),
    path("bills/new/", views.bill_create, name="bill_create"),
]
