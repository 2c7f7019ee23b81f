"""Write guide_anchors.json: every page of the published 2019 guide and the link anchors on it.

Run by hand from the repository root when the guide copy changes (the tests read only the JSON):

    .venv/bin/python tests/data/make_guide_anchors.py

It reads ../shared/guide/2019-guide/guide/ (and guide/role/): a page's path is the `permalink` of
its front matter; its anchors are the ids the site generator (Jekyll, kramdown with GFM input)
gives its ATX headings: an explicit `{#id}` at the end of the heading, otherwise the heading text
lower-cased, with everything but letters, digits, underscores, hyphens, spaces and tabs dropped and
each space or tab turned into a hyphen (a repeated id gets "-1", "-2", ...), as
kramdown-parser-gfm's generate_gfm_header_id does.
"""

import json
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT.parent / "shared" / "guide" / "2019-guide" / "guide"
OUTPUT = Path(__file__).resolve().parent / "guide_anchors.json"

SITE = "https://nhsconnect.github.io/prm-practice-migration"
FRONT_MATTER = re.compile(r"\A---\n(?P<fields>.*?)\n---\n", re.DOTALL)
HEADING = re.compile(r"^#{1,6}[\t ]+(?P<text>.*)$")
EXPLICIT_ID = re.compile(r"[\t ]\{#(?P<id>[A-Za-z][\w:-]*)\}$")
NON_WORD = re.compile(r"[^\w\- \t]")


def heading_id(text: str, seen: Counter) -> str:
    text = text.rstrip()
    explicit = EXPLICIT_ID.search(text)
    if explicit:
        return explicit["id"]
    text = re.sub(r"(?<!\\)#+$", "", text).rstrip()  # closing hashes of "## Heading ##"
    anchor = NON_WORD.sub("", text.lower()).replace(" ", "-").replace("\t", "-")
    seen[anchor] += 1
    return anchor if seen[anchor] == 1 else f"{anchor}-{seen[anchor] - 1}"


def page(path: Path) -> tuple[str, list[str]]:
    text = path.read_text(encoding="utf-8")
    front = FRONT_MATTER.match(text)
    if front is None:
        raise SystemExit(f"{path}: no front matter")
    permalink = re.search(r"^permalink:\s*(\S+)\s*$", front["fields"], re.MULTILINE)
    if permalink is None:
        raise SystemExit(f"{path}: no permalink")
    seen = Counter()
    anchors = []
    for line in text[front.end() :].splitlines():
        heading = HEADING.match(line)
        if heading:
            anchors.append(heading_id(heading["text"], seen))
    return permalink[1].rstrip("/"), anchors


def main() -> None:
    if not GUIDE.is_dir():
        sys.exit(f"No guide copy at {GUIDE}")
    pages = dict(sorted(page(path) for path in [*GUIDE.glob("*.md"), *GUIDE.glob("role/*.md")]))
    OUTPUT.write_text(
        json.dumps(
            {
                "source": "nhsconnect/prm-practice-migration at ebff53c (2019-11-28), guide/ and guide/role/; "
                "written by tests/data/make_guide_anchors.py",
                "site": SITE,
                "not_listed": "Headings that the index and role pages draw in from _steps/ (steps.html) "
                "are not listed: no checklist item links to them.",
                "pages": pages,
            },
            indent=2,
            ensure_ascii=False,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"Wrote {OUTPUT.relative_to(ROOT)}: {len(pages)} pages, {sum(map(len, pages.values()))} anchors.")


if __name__ == "__main__":
    main()
