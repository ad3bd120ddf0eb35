from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0003_list_indexes_with_id"),
    ]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="first_name",
            field=models.CharField(blank=True, max_length=100),
        ),
        migrations.AddField(
            model_name="customer",
            name="last_name",
            field=models.CharField(blank=True, max_length=100),
        ),
    ]
