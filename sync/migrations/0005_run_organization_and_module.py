"""A run belongs to its organization and module as well as to its module configuration, so that the sync
history outlives the integration (Delete Integration removes the configurations)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("integration", "0006_schedule_configured_modules"),
        ("organizations", "0001_initial"),
        ("sync", "0004_link_identity_names"),
    ]

    operations = [
        migrations.AddField(
            model_name="syncrun", name="organization",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.CASCADE, related_name="sync_runs",
                                    to="organizations.organization"),
        ),
        migrations.AddField(
            model_name="syncrun", name="module",
            field=models.CharField(choices=[("customers", "Customers"), ("vendors", "Vendors"), ("items", "Items")],
                                   default="", max_length=16),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="syncrun", name="module_config",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                    related_name="runs", to="integration.moduleconfig"),
        ),
    ]
