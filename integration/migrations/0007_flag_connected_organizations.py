"""Organizations with a CRM connection get the flag their lists read (the "CRM Customers" view)."""

from django.db import migrations


def flag(apps, schema_editor):
    Organization = apps.get_model("organizations", "Organization")
    CrmConnection = apps.get_model("integration", "CrmConnection")
    Organization.objects.filter(pk__in=CrmConnection.objects.values("organization_id")).update(crm_connected=True)


class Migration(migrations.Migration):
    dependencies = [
        ("integration", "0006_schedule_configured_modules"),
        ("organizations", "0002_organization_crm_connected"),
    ]

    operations = [migrations.RunPython(flag, migrations.RunPython.noop)]
