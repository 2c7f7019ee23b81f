from migrations_app.views.items import (
    item_complete,
    item_detail,
    item_forms,
    item_history,
    item_mark,
    item_note,
    item_owner,
    item_reopen,
    item_sign_off,
)
from migrations_app.views.milestones import milestones_edit
from migrations_app.views.pages import home, migration_detail

__all__ = [
    "home",
    "item_complete",
    "item_detail",
    "item_forms",
    "item_history",
    "item_mark",
    "item_note",
    "item_owner",
    "item_reopen",
    "item_sign_off",
    "migration_detail",
    "milestones_edit",
]
