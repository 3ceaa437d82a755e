from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django_q.signals import post_spawn

        from catalog.tasks import start_heartbeat

        post_spawn.connect(start_heartbeat, dispatch_uid="clockweb-worker-heartbeat")
