"""Every guide link of the checklist data goes to a page and an anchor the published guide has.

The pages and their anchors are in tests/data/guide_anchors.json, written by hand with
tests/data/make_guide_anchors.py from the guide's own source (the 2019 edition, published at
nhsconnect.github.io/prm-practice-migration); this test reads only that list and the data file.
"""

import json
from pathlib import Path

from migrations_app.checklist_templates import guide_file

GUIDE_ANCHORS = json.loads((Path(__file__).parent / "data" / "guide_anchors.json").read_text(encoding="utf-8"))


def links(path: Path) -> dict[str, str]:
    data = guide_file.parse(path.read_text(encoding="utf-8"))
    return {item["key"]: item["link"] for phase in data["phases"] for item in phase["items"] if item.get("link")}


def broken_links(path: Path) -> dict[str, str]:
    """The items whose link is off the guide's site, or names a page or an anchor it does not have."""
    site, pages = GUIDE_ANCHORS["site"], GUIDE_ANCHORS["pages"]
    broken = {}
    for key, link in links(path).items():
        page, _, anchor = link.removeprefix(site).partition("#")
        if not link.startswith(site + "/") or page not in pages or (anchor and anchor not in pages[page]):
            broken[key] = link
    return broken


def test_the_anchor_list_has_every_page_of_the_guide():
    assert {"/guide", "/guide/get-started", "/guide/planning-for-cut-over", "/guide/end-of-migration"} <= set(
        GUIDE_ANCHORS["pages"]
    )
    assert "consultations" in GUIDE_ANCHORS["pages"]["/guide/planning-for-cut-over"]


def test_every_item_link_goes_to_a_page_and_an_anchor_the_guide_has():
    assert links(guide_file.GUIDE_FILE)

    broken = broken_links(guide_file.GUIDE_FILE)

    assert broken == {}
