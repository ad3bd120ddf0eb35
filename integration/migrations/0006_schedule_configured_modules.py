"""Configured modules without a next run time were due at once; a module now needs one to be due. Give
the existing ones "now", which keeps them syncing at the next tick as they did."""

from django.db import migrations
from django.utils import timezone


def schedule(apps, schema_editor):
    ModuleConfig = apps.get_model("integration", "ModuleConfig")
    ModuleConfig.objects.filter(configured=True, next_run_at__isnull=True).update(next_run_at=timezone.now())


class Migration(migrations.Migration):
    dependencies = [("integration", "0005_metrics_fields_and_sku_message")]

    operations = [migrations.RunPython(schedule, migrations.RunPython.noop)]
