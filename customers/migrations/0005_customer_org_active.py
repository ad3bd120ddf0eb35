"""A small index for counting a view's customers (active or inactive).

With `id` in customer_org_active_name its keys are all distinct, so PostgreSQL no longer
deduplicates it and finds a sequential scan cheaper for `COUNT(*) ... WHERE is_active`; this index
has two keys per organization and stays a few hundred kilobytes.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("customers", "0004_customer_first_last_name")]

    operations = [
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(fields=["organization", "is_active"], name="customer_org_active"),
        ),
    ]
