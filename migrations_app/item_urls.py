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


def _under_detail(suffix: str) -> property:
    return property(lambda urls: urls.detail + suffix, doc=f"The item's address + {suffix!r}.")


@dataclass(frozen=True, slots=True)
class ItemUrls:
    detail: str  # the item's own page; every other address is under it

    @classmethod
    def of(cls, base: str, item_pk: int) -> "ItemUrls":
        return cls(f"{base}{item_pk}/")

    history = _under_detail("history/")
    forms = _under_detail("forms/")
    complete = _under_detail("complete/")
    reopen = _under_detail("reopen/")
    note = _under_detail("note/")
    sign_off = _under_detail("sign-off/")
    owner = _under_detail("owner/")
    due_date = _under_detail("due-date/")
    not_applicable = _under_detail("not-applicable/")
    blocked = _under_detail("blocked/")
