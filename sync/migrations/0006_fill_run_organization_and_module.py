"""Every existing run gets its organization and module from its module configuration."""

from django.db import migrations
from django.db.models import OuterRef, Subquery


def fill(apps, schema_editor):
    SyncRun = apps.get_model("sync", "SyncRun")
    ModuleConfig = apps.get_model("integration", "ModuleConfig")
    configs = ModuleConfig.objects.filter(pk=OuterRef("module_config_id"))
    SyncRun.objects.filter(organization__isnull=True).update(
        organization_id=Subquery(configs.values("connection__organization_id")[:1]),
        module=Subquery(configs.values("module")[:1]),
    )


class Migration(migrations.Migration):
    dependencies = [("sync", "0005_run_organization_and_module")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
