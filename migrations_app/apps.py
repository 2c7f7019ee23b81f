from django.apps import AppConfig


class MigrationsAppConfig(AppConfig):
    name = "migrations_app"
    verbose_name = "GP practice migrations"

    def queue_sign_off_requests(self, item_id: int, gate_ids: list[int] | None = None) -> None:
        """For ChecklistItem, once the transaction that closed an item has committed: queue a
        sign-off request for each gate that closing it made ready (reminders/sign_offs.py), or for
        `gate_ids` when the change's transaction worked them out (ChecklistItem.gates_made_ready).

        The models are reached from here rather than importing the reminders package themselves:
        that package builds on them, and so the import graph keeps one direction."""
        from migrations_app.reminders import sign_offs

        sign_offs.queue_sign_off_requests(item_id, gate_ids)
