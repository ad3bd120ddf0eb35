import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("sync", "0006_fill_run_organization_and_module")]

    operations = [
        migrations.AlterField(
            model_name="syncrun", name="organization",
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="sync_runs",
                                    to="organizations.organization"),
        ),
        migrations.AddIndex(
            model_name="syncrun", index=models.Index(fields=["organization", "-queued_at"], name="run_org_queued"),
        ),
    ]
