from django.urls import path

from . import views

app_name = "customers"

urlpatterns = [
    path("customers/", views.customer_list, name="list"),
    path("customers/new/", views.customer_create, name="create"),
    path("customers/lookup/", views.customer_lookup, name="lookup"),
    path("customers/<int:pk>/", views.customer_detail, name="detail"),
    path("customers/<int:pk>/edit/", views.customer_edit, name="edit"),
    path("customers/<int:pk>/toggle-active/", views.customer_toggle_active, name="toggle_active"),
    path("invoices/", views.invoice_list, name="invoice_list"),
    path("invoices/new/", views.invoice_create, name="invoice_create"),
    path("invoices/refresh-statuses/", views.invoice_refresh_statuses, name="invoice_refresh"),
    path("invoices/<int:pk>/payment/", views.invoice_record_payment, name="invoice_payment"),
]
