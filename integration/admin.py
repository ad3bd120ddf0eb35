from django.contrib import admin

from .models import ConnectionEvent, CrmUser


@admin.register(CrmUser)
class CrmUserAdmin(admin.ModelAdmin):
    list_display = ("full_name", "email", "erp_user", "connection")


admin.site.register(ConnectionEvent)
# CrmConnection is left out on purpose: its form would put tokens on a page.
