from django.contrib import admin

from .models import CustomField, Membership, Notification, Organization

admin.site.register(Organization)
admin.site.register(Membership)
admin.site.register(Notification)
admin.site.register(CustomField)
