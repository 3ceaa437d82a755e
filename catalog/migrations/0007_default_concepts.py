"""The default tag vocabulary (pipeline.search.tagging.DEFAULT_CONCEPTS); curators edit it afterwards."""

from django.db import migrations

from pipeline.search.tagging import DEFAULT_CONCEPTS


def add_defaults(apps, schema_editor):  # noqa: ANN001, ANN201
    Concept = apps.get_model("catalog", "Concept")  # noqa: N806
    Concept.objects.bulk_create([Concept(name=name) for name in DEFAULT_CONCEPTS], ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0006_tags")]

    operations = [migrations.RunPython(add_defaults, migrations.RunPython.noop)]
