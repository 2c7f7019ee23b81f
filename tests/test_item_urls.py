"""An item's addresses, made from one base per migration (item_urls.ItemUrls), are the ones its URL
names reverse to, and the migration page links each item to them."""

import pytest
from django.urls import reverse

from migrations_app.item_urls import ItemUrls, items_base

NAMES = {
    "detail": "item_detail",
    "history": "item_history",
    "forms": "item_forms",
    "complete": "item_complete",
    "reopen": "item_reopen",
    "note": "item_note",
    "sign_off": "item_sign_off",
    "owner": "item_owner",
    "due_date": "item_due_date",
    "not_applicable": "item_not_applicable",
    "blocked": "item_blocked",
}


@pytest.mark.parametrize(("migration_pk", "item_pk"), [(1, 1), (7, 130), (12345, 9876543)])
@pytest.mark.parametrize(("attribute", "name"), NAMES.items())
def test_each_address_is_what_its_url_name_reverses_to(migration_pk, item_pk, attribute, name):
    urls = ItemUrls.of(items_base(migration_pk), item_pk)

    assert getattr(urls, attribute) == reverse(f"migrations:{name}", args=(migration_pk, item_pk))


def test_every_address_of_an_item_is_named():
    addresses = {name for name in dir(ItemUrls) if not name.startswith("_") and name != "of"}

    assert addresses == set(NAMES)


@pytest.mark.django_db
def test_an_item_read_on_its_own_has_the_same_addresses(migration):
    item = migration.items.order_by("pk").last()

    assert item.urls.complete == reverse("migrations:item_complete", args=(migration.pk, item.pk))
