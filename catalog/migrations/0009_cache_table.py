"""The shared cache table (settings.CACHES without Redis): rate limits and worker heartbeats."""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor) -> None:  # noqa: ANN001
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0008_sighting_review")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
