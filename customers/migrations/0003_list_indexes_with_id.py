"""The list's sort indexes end with `id`, the sort's tie-breaker, so deep pages read ids from the index alone.

The active view sorts by (display_name, id) and the date sorts by (created_at, id); with `id` in the
index the paginator's id lookup is an index-only scan instead of a walk through the table.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("customers", "0002_search_trigram_indexes")]

    operations = [
        migrations.RemoveIndex(model_name="customer", name="customer_org_active_name"),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(
                fields=["organization", "is_active", "display_name", "id"], name="customer_org_active_name"
            ),
        ),
        migrations.RemoveIndex(model_name="customer", name="customer_org_created"),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(fields=["organization", "-created_at", "-id"], name="customer_org_created"),
        ),
    ]
