from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0010_worker_heartbeat"),
    ]

    operations = [
        migrations.AddField(
            model_name="workerheartbeat",
            name="task",
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
