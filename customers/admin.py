from django.contrib import admin

from .models import ContactPerson, Customer, Invoice

admin.site.register(Customer)
admin.site.register(ContactPerson)
admin.site.register(Invoice)
