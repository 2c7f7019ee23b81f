"""The static files' storage in production (migrations_app/static_storage.py): the addresses
Django's manifest storage gives, each worked out once per process."""

import json

import pytest
from whitenoise.storage import CompressedManifestStaticFilesStorage

from migrations_app.static_storage import StaticFilesStorage

MANIFEST = {"version": "1.1", "hash": "0", "paths": {"css/tracker.css": "css/tracker.0123abcd.css"}}


@pytest.fixture
def collected(tmp_path):
    (tmp_path / "staticfiles.json").write_text(json.dumps(MANIFEST))
    return tmp_path


def stores(location, kind):
    return kind(location=str(location), base_url="/static/")


def test_it_gives_the_addresses_django_s_manifest_storage_gives(collected):
    ours, django = stores(collected, StaticFilesStorage), stores(collected, CompressedManifestStaticFilesStorage)

    assert ours.url("css/tracker.css") == django.url("css/tracker.css") == "/static/css/tracker.0123abcd.css"
    assert ours.url("css/tracker.css") == "/static/css/tracker.0123abcd.css"  # the second time too
    assert ours.url("css/tracker.css", force=True) == django.url("css/tracker.css", force=True)


def test_each_address_is_worked_out_once(collected, monkeypatch):
    storage = stores(collected, StaticFilesStorage)
    looked_up = []
    original = storage.stored_name
    monkeypatch.setattr(storage, "stored_name", lambda name: looked_up.append(name) or original(name))

    for _ in range(3):
        storage.url("css/tracker.css")

    assert looked_up == ["css/tracker.css"]


def test_a_file_missing_from_the_manifest_is_refused_every_time(collected):
    storage = stores(collected, StaticFilesStorage)

    for _ in range(2):
        with pytest.raises(ValueError, match="Missing staticfiles manifest entry"):
            storage.url("css/missing.css")
