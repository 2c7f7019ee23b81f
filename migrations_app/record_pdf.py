"""The migration record (record.py) as a PDF, drawn with fpdf2 from the same MigrationRecord as the
page, section by section in the page's order, with a title, bookmarks and "Page N of M".

The text is set in Arimo, metrically the same as Arial, the NHS.UK pages' font, and with the glyphs
of names the PDF core fonts lack (ŵ, ŷ, Ł, curly quotes): its regular and bold, in record_fonts/
with their licence (SIL Open Font License 1.1). They are the instances at weights 400 and 700 of
Arimo 1.341's variable font, cut to Latin with its extensions (Welsh, Irish, Polish...), Greek,
Cyrillic, combining accents, punctuation, currency and letter-like symbols: a name in another
script prints as blanks here (the page shows it)."""

import dataclasses
import hashlib
import logging
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

from django.core.cache import cache
from django.utils import dateformat, timezone
from fpdf import FPDF, FontFace

from migrations_app.record import ItemLine, MigrationRecord

FONT = "Arimo"
# A kept PDF lasts no longer than the day it was drawn on (its key has the day in it too).
KEPT_SECONDS = 24 * 60 * 60
FONT_FILES = {
    "": Path(__file__).resolve().parent / "record_fonts" / "Arimo-Regular.ttf",
    "B": Path(__file__).resolve().parent / "record_fonts" / "Arimo-Bold.ttf",
}
DATE = "j F Y"
DATETIME = "j F Y, H:i"
GREY = (216, 221, 224)  # NHS.UK's grey 4, the table borders of the page
HEADINGS = FontFace(emphasis="BOLD", fill_color=(240, 244, 245))
# fontTools (fpdf2 subsets the fonts of every PDF with it) logs each table it subsets at INFO: some
# 180 lines a download. Its warnings (a glyph the font lacks) still show.
logging.getLogger("fontTools").setLevel(logging.WARNING)


def _day(value: date | None) -> str:
    return dateformat.format(value, DATE) if value else ""


def _moment(value: datetime | None) -> str:
    return dateformat.format(timezone.localtime(value), DATETIME) if value else ""


class RecordPDF(FPDF):
    def __init__(self, record: MigrationRecord) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.record = record
        for style, path in FONT_FILES.items():
            self.add_font(FONT, style, path)
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(auto=True, margin=18)
        self.set_title(f"{record.title}: {record.practice_name} ({record.ods_code})")
        self.set_subject(f"{record.source_system} to {record.target_system}")
        self.set_author("GP migration tracker")
        self.set_creator("GP migration tracker")
        self.set_lang("en-GB")
        self.set_creation_date(record.generated_at)
        self.set_draw_color(*GREY)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, "", 8)
        self.set_text_color(75, 75, 75)
        self.cell(0, 5, f"{self.record.title}: {self.record.practice_name} ({self.record.ods_code})", align="L")
        self.set_x(self.l_margin)
        self.cell(0, 5, f"Page {self.page_no()} of {{nb}}", align="R")
        self.set_text_color(0, 0, 0)

    # --- the building blocks ---------------------------------------------------------------------------

    def heading(self, text: str, level: int) -> None:
        size = {0: 20, 1: 14, 2: 12}[level]
        if level and self.will_page_break(size * 2):
            self.add_page()
        self.start_section(text, level=level)
        self.set_font(FONT, "B", size)
        self.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")
        self.ln(1.5)
        self.set_font(FONT, "", 9.5)

    def paragraph(self, text: str) -> None:
        self.set_font(FONT, "", 9.5)
        self.multi_cell(0, 5, text, new_x="LMARGIN", new_y="NEXT")
        self.ln(2)

    def grid(self, headings: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float]) -> None:
        self.set_font(FONT, "", 8.5)
        with self.table(
            col_widths=widths,
            text_align="LEFT",
            v_align="TOP",
            line_height=4.2,
            padding=1.2,
            headings_style=HEADINGS,
            width=self.epw,
        ) as table:
            table.row(headings)
            for row in rows:
                table.row(row)
        self.ln(3)

    # --- the sections, in the page's order -------------------------------------------------------------

    def draw(self) -> bytes:
        record = self.record
        self.add_page()
        self.set_font(FONT, "", 10)
        self.multi_cell(0, 5, f"{record.practice_name} ({record.ods_code})", new_x="LMARGIN", new_y="NEXT")
        self.heading(record.title, 0)
        self.paragraph(
            f"{record.source_system} to {record.target_system}. Made from the tracker's data on "
            f"{_moment(record.generated_at)}."
        )
        self.summary()
        self.heading("Milestones", 1)
        self.grid(
            ("Milestone", "First planned", "Final date", "Changes"),
            [
                (
                    line.label,
                    _day(line.first_planned_on) or "Not agreed",
                    _day(line.final_on) or "Not agreed",
                    str(line.changes),
                )
                for line in record.milestones
            ],
            (40, 22, 22, 16),
        )
        self.heading("Changes of date", 2)
        if record.milestone_changes:
            self.grid(
                ("When", "By", "Milestone", "From", "To", "Reason"),
                [
                    (
                        _moment(change.at),
                        change.by,
                        change.milestone,
                        _day(change.old_on) or "Not agreed",
                        _day(change.new_on) or "Not agreed",
                        change.reason or "No reason given",
                    )
                    for change in record.milestone_changes
                ],
                (15, 15, 16, 13, 13, 28),
            )
        else:
            self.paragraph("No milestone's date has changed since the migration was started.")
        self.heading("Sign-off gates", 1)
        self.grid(
            ("Gate", "Status", "Signed by", "When", "Reason"),
            [
                (
                    gate.title,
                    gate.status_label,
                    gate.closed_by,
                    _moment(gate.closed_at),
                    gate.override_reason or gate.reason,
                )
                for gate in record.gates
            ],
            (34, 12, 17, 16, 25),
        )
        self.heading("Checklist items", 1)
        self.paragraph(
            f"{record.items_total} items: {record.items_done} done, {record.items_not_applicable} not applicable, "
            f"{record.items_open} still open."
        )
        for phase in record.phases:
            self.heading(phase.title, 2)
            self.items(phase.items)
        if record.archived:
            self.heading("Archived items", 2)
            self.paragraph(
                "A checklist upgrade dropped these items after work on them; they are kept with their history."
            )
            self.items(record.archived)
        self.heading("Checklist upgrades", 1)
        if record.upgrades:
            self.grid(
                ("When", "By", "From", "To", "What changed"),
                [(_moment(entry.at), entry.by, entry.old, entry.new, entry.reason) for entry in record.upgrades],
                (16, 16, 20, 20, 36),
            )
        else:
            self.paragraph("No checklist upgrades were applied.")
        self.heading("Status changes", 1)
        if record.status_changes:
            self.grid(
                ("When", "By", "From", "To", "Reason"),
                [(_moment(entry.at), entry.by, entry.old, entry.new, entry.reason) for entry in record.status_changes],
                (18, 18, 14, 14, 36),
            )
        else:
            self.paragraph("The migration's status has not changed since it was started.")
        self.retrospectives()
        self.heading("Event log summary", 1)
        self.paragraph(self.log_sentence())
        if record.event_counts:
            self.grid(
                ("Kind of change", "Events"),
                [(count.label, str(count.count)) for count in record.event_counts],
                (60, 20),
            )
        return bytes(self.output())

    def summary(self) -> None:
        record = self.record
        rows = [
            ("Practice", record.practice_name),
            ("ODS code", record.ods_code),
            ("ICB", record.icb),
            ("Delivery partner", record.delivery_partner or "None"),
            ("Current (source) system", f"{record.source_system} ({record.source_supplier})"),
            ("New (target) system", f"{record.target_system} ({record.target_supplier})"),
            ("Status", record.status_label),
        ]
        if record.status_reason:
            rows.append(("Reason", record.status_reason))
        rows += [
            ("Started", _moment(record.started_at) + (f" by {record.started_by}" if record.started_by else "")),
            ("Finished", _moment(record.finished_at) or "Not yet"),
            ("Project manager", record.project_manager or "None named"),
            ("Checklist version", record.checklist_version),
        ]
        self.set_font(FONT, "", 9.5)
        with self.table(
            col_widths=(30, 70),
            text_align="LEFT",
            v_align="TOP",
            line_height=4.6,
            padding=1.2,
            first_row_as_headings=False,
            width=self.epw,
        ) as table:
            for key, value in rows:
                row = table.row()
                row.cell(key, style=FontFace(emphasis="BOLD"))
                row.cell(value)
        self.ln(3)

    def items(self, items: Sequence[ItemLine]) -> None:
        self.grid(
            ("Item", "Status", "Closed by", "When", "Reasons and notes"),
            [
                (
                    ("Sign-off gate: " if item.is_gate else "") + item.title,
                    item.status_label,
                    item.closed_by,
                    _moment(item.closed_at),
                    _notes(item),
                )
                for item in items
            ],
            (36, 11, 16, 15, 26),
        )

    def retrospectives(self) -> None:
        self.heading("Retrospective", 1)
        if not self.record.retrospectives:
            self.paragraph(
                "No retrospective has been written yet. The practice manager and the delivery partner's "
                "project manager each write one after go-live."
            )
        for retrospective in self.record.retrospectives:
            self.heading(retrospective.side, 2)
            written = f"Written by {retrospective.written_by} on {_moment(retrospective.written_at)}"
            if retrospective.changed_at:
                written += f"; last changed by {retrospective.changed_by} on {_moment(retrospective.changed_at)}"
            self.paragraph(written + ".")
            self.grid(("Area", "Verdict", "Comment"), retrospective.areas, (20, 18, 62))
            self.paragraph(f"Lesson: {retrospective.lesson}")

    def log_sentence(self) -> str:
        record = self.record
        if not record.event_total:
            return "The event log is empty."
        return (
            f"{record.event_total} events by {record.event_people} "
            f"{'person' if record.event_people == 1 else 'people'}, from {_moment(record.first_event_at)} "
            f"to {_moment(record.last_event_at)}."
        )


def _notes(item: ItemLine) -> str:
    parts = []
    if item.override_reason:
        parts.append(f"Override reason: {item.override_reason}")
    if item.reason:
        parts.append(f"Reason: {item.reason}")
    if item.note:
        parts.append(f"Note: {item.note}")
    return "\n".join(parts)


def render(record: MigrationRecord) -> bytes:
    """The record as a PDF document."""
    return RecordPDF(record).draw()


def render_kept(record: MigrationRecord) -> bytes:
    """The record as a PDF, kept in the cache under a digest of everything it shows: drawing takes
    1 to 2 seconds (fpdf2 laying out some 150 table rows), and a record is downloaded again and
    again unchanged (a finished migration's never changes). The key is the content itself, so
    any change to the migration gives another key and nothing is ever stale; the day is part of
    it, so the PDF's "generated" line and file name are never older than the day it is asked for."""
    content = dataclasses.replace(record, generated_at=None)
    day = timezone.localdate(record.generated_at).isoformat()
    key = "record-pdf:" + hashlib.sha256(f"{day}:{content!r}".encode()).hexdigest()
    document = cache.get(key)
    if document is None:
        document = render(record)
        cache.set(key, document, timeout=KEPT_SECONDS)
    return document
