"""The addresses of one checklist item's pages and actions, made from one base address per
migration rather than reversed one by one: the migration page shows up to 131 items with up to
eight addresses each, and reversing each was about a third of the page's rendering time.

tests/test_item_urls.py holds every address here to what `reverse` gives for its URL name.
"""

from dataclasses import dataclass

from django.urls import reverse


def items_base(migration_pk: int) -> str:
    """The address under which a migration's items live ("/migrations/7/items/"): reversed once."""
    return reverse("migrations:item_detail", args=(migration_pk, 0)).removesuffix("0/")


@dataclass(frozen=True, slots=True)
class ItemUrls:
    detail: str  # the item's own page; every other address is under it

    @classmethod
    def of(cls, base: str, item_pk: int) -> "ItemUrls":
        return cls(f"{base}{item_pk}/")

    @property
    def history(self) -> str:
        return self.detail + "history/"

    @property
    def forms(self) -> str:
        return self.detail + "forms/"

    @property
    def complete(self) -> str:
        return self.detail + "complete/"

    @property
    def reopen(self) -> str:
        return self.detail + "reopen/"

    @property
    def note(self) -> str:
        return self.detail + "note/"

    @property
    def sign_off(self) -> str:
        return self.detail + "sign-off/"

    @property
    def owner(self) -> str:
        return self.detail + "owner/"

    @property
    def due_date(self) -> str:
        return self.detail + "due-date/"

    @property
    def not_applicable(self) -> str:
        return self.detail + "not-applicable/"

    @property
    def blocked(self) -> str:
        return self.detail + "blocked/"
