from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django_q.signals import post_execute_in_worker, post_spawn, pre_execute

        from catalog.workers import journal_task_end, journal_task_start, start_heartbeat

        post_spawn.connect(start_heartbeat, dispatch_uid="clockweb-worker-heartbeat")
        # Which task each worker runs, so that a killed worker's task is handed out again at once.
        pre_execute.connect(journal_task_start, dispatch_uid="clockweb-task-journal-start")
        post_execute_in_worker.connect(journal_task_end, dispatch_uid="clockweb-task-journal-end")
