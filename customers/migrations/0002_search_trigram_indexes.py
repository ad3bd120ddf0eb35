"""Trigram indexes for the list search on PostgreSQL; nothing on other databases.

The list search is `icontains`, which Django renders on PostgreSQL as
`UPPER("column"::text) LIKE UPPER('%term%')`. A GIN index with gin_trgm_ops on that same expression
serves it; a B-tree cannot. Without them every search reads the whole table.
"""

from django.db import migrations

TABLE = "customers_customer"
COLUMNS = ("display_name", "company_name", "email")


def index_name(column: str) -> str:
    return f"customer_{column}_trgm"


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in COLUMNS:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{index_name(column)}" ON "{TABLE}" '
            f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
        )
    # Statistics on the indexed expressions let the planner tell a rare term from a common one (it
    # then walks the name index for page 1 of a common term). Creating an index does not gather them.
    schema_editor.execute(f'ANALYZE "{TABLE}"')


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # The extension stays: other apps' indexes may use it.
    for column in COLUMNS:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{index_name(column)}"')


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]

    operations = [migrations.RunPython(create_indexes, drop_indexes)]
