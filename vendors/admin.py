from django.contrib import admin

from .models import Bill, Vendor

admin.site.register(Vendor)
admin.site.register(Bill)
