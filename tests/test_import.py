"""Importing an order tracker: the preview says what each row would do and saves nothing; applying
does it all in one transaction or nothing; each kind of bad input is named by row and column."""

import csv
import io
import re
from datetime import date, datetime, timedelta

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from migrations_app import access, scheduling
from migrations_app.models import (
    ChecklistItem,
    ChecklistProgress,
    Event,
    ItemTemplate,
    Membership,
    MigrationImport,
    Practice,
    PracticeMigration,
    Role,
    TemplateVersion,
)
from migrations_app.portfolio import importing
from migrations_app.portfolio.importing import RowKind
from migrations_app.portfolio.tracker_file import MAX_ROWS, FileProblem, TrackerFile
from tests.conftest import with_two_factor_device
from tests.factories import GO_LIVE_ON, MembershipFactory, PracticeFactory, SupplierFactory, UserFactory
from tests.pages import element, text

pytestmark = pytest.mark.django_db

CORRECTED_BY_SUPPORT = " If the tracker has the name wrong, a support admin can correct it."

HEADER = [
    "ODS code",
    "Practice name",
    "ICB code",
    "Current system",
    "New system",
    "Order date",
    "Planned go-live",
    "IDP",
    "FDP",
    "Project manager's e-mail",
]
NEW_GO_LIVE_ON = GO_LIVE_ON + timedelta(days=7)
# The demo practice's migration (conftest's `migration`), its go-live a week later.
UPDATE_ROW = ["H85001", "Riverside Medical Centre", "QWE", "EMIS Web", "SystmOne", "03/03/2025", "16/06/2025"]
# A practice the tracker does not know yet, in the demo ICB.
NEW_ROW = ["K82001", "New Road Surgery", "QWE", "EMIS Web", "SystmOne", "01/04/2025", "2025-07-28"]


def csv_bytes(*rows, header=HEADER, encoding="utf-8") -> bytes:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(rows)
    return text.getvalue().encode(encoding)


def xlsx_bytes(*rows, header=HEADER) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def uploaded(content: bytes, user, partner, filename: str = "orders.csv") -> MigrationImport:
    with TrackerFile(filename, content) as tracker:
        count = importing.count_rows(tracker)
    return MigrationImport.objects.create(
        uploaded_by=user, delivery_partner=partner, filename=filename, content=content, sha256="x", row_count=count
    )


def preview_of(content: bytes, user, partner, filename: str = "orders.csv", **options) -> importing.Preview:
    return importing.preview(uploaded(content, user, partner, filename), access.starter(user), **options)


def problems(preview: importing.Preview) -> list[tuple[int, str, str]]:
    return [(problem.row, problem.column, problem.message) for problem, _ in preview.problems]


def database_state() -> dict:
    return {
        "practices": list(Practice.objects.order_by("pk").values_list("pk", "ods_code", "name")),
        "migrations": list(PracticeMigration.objects.order_by("pk").values_list("pk", "go_live_on", "project_manager")),
        "items": ChecklistItem.objects.count(),
        "events": Event.objects.count(),
    }


@pytest.fixture
def importer(delivery_partner_user, migration, delivery_partner):
    """The demo delivery partner's project manager, with the demo migration under way."""
    return delivery_partner_user


# --- preview and apply ---------------------------------------------------------------------------------


def test_the_preview_lists_new_update_and_unchanged_rows_and_saves_nothing(importer, delivery_partner, world):
    hilltop = world["hilltop"]
    unchanged = [
        "K81002",
        "Hilltop Surgery",
        hilltop.practice.icb.code,
        "SystmOne",
        "EMIS Web",
        hilltop.order_accepted_on.strftime("%d/%m/%Y"),
        hilltop.go_live_on.isoformat(),
    ]
    before = database_state()

    preview = preview_of(csv_bytes(UPDATE_ROW, NEW_ROW, unchanged), importer, delivery_partner)

    assert [(row.number, row.kind) for row in preview.rows] == [
        (2, RowKind.UPDATE),
        (3, RowKind.NEW),
        (4, RowKind.UNCHANGED),
    ]
    update = preview.rows[0]
    assert [(change.label, change.old, change.new) for change in update.changes] == [
        ("Go-live", GO_LIVE_ON, NEW_GO_LIVE_ON)
    ]
    # Each open go-live item moves with go-live, to a working day (scheduling.due_date).
    items = update.migration.items.values_list("pk", "anchor", "offset_days")
    rules = {pk: (anchor, offset) for pk, anchor, offset in items}
    new_dates = update.migration.milestone_dates() | {"go_live": NEW_GO_LIVE_ON}
    assert update.moves and all(
        move.new_due_on == scheduling.due_date(new_dates, *rules[move.item_id]) for move in update.moves
    )
    assert preview.can_apply
    assert database_state() == before


def test_a_new_row_whose_go_live_has_passed_is_imported_with_a_warning(importer, delivery_partner):
    today = timezone.localdate()
    passed = ["K82005", "Past Lane Surgery", *NEW_ROW[2:5], "02/01/2020", "2020-05-01"]
    coming = ["K82006", "Future Way Surgery", *NEW_ROW[2:5], today.strftime("%d/%m/%Y"), "2099-05-04"]

    preview = preview_of(csv_bytes(passed, coming), importer, delivery_partner)

    past, future = preview.rows
    assert (past.kind, future.kind) == (RowKind.NEW, RowKind.NEW)
    assert (
        "Go-live, 1 May 2020, has passed: the migration would start with every item due before it overdue. "
        "Check the year." in past.warnings
    )
    assert not any("has passed" in warning for warning in future.warnings)
    assert preview.can_apply


def test_applying_starts_new_migrations_and_replans_updates_in_one_go(importer, delivery_partner, migration):
    upload = uploaded(csv_bytes(UPDATE_ROW, NEW_ROW + ["", "", importer.email]), importer, delivery_partner)
    version = TemplateVersion.objects.published().order_by("-number").first()

    counts = importing.apply(upload, access.starter(importer), importer)

    assert counts == {RowKind.NEW: 1, RowKind.UPDATE: 1}
    new_practice = Practice.objects.get(ods_code="K82001")
    assert new_practice.name == "New Road Surgery"
    assert new_practice.delivery_partner == delivery_partner
    started = PracticeMigration.objects.get(practice=new_practice)
    assert started.template_version == version
    assert started.created_by == importer
    assert started.project_manager == importer
    assert (started.order_accepted_on, started.go_live_on) == (date(2025, 4, 1), date(2025, 7, 28))
    assert started.items.count() == version.items().count()
    migration.refresh_from_db()
    assert migration.go_live_on == NEW_GO_LIVE_ON
    assert Event.objects.filter(
        migration=migration, kind=Event.Kind.MILESTONE, field="go_live_on", reason="Imported from orders.csv"
    ).exists()
    assert Event.objects.filter(migration=migration, kind=Event.Kind.REPLAN, actor=importer).exists()
    upload.refresh_from_db()
    assert upload.applied_by == importer and upload.applied_at is not None
    assert upload.outcome == "1 new, 1 updated, 0 unchanged"


def progress_figures(migration_ids) -> list[tuple]:
    return list(
        ChecklistProgress.objects.filter(migration_id__in=migration_ids)
        .order_by("migration_id")
        .values_list(
            "migration_id",
            "items_done",
            "items_applicable",
            "items_blocked",
            "phase_position",
            "overdue",
            "gates_overdue",
            "done_ahead",
            "next_due_on",
            "counts_on",
        )
    )


def test_a_file_of_several_batches_starts_and_replans_every_row_as_one_start_would(
    importer, delivery_partner, monkeypatch
):
    # Batches of two, so that five rows are started in three start_all() calls and replanned in three.
    monkeypatch.setattr(importing, "STARTED_TOGETHER", 2)
    monkeypatch.setattr(importing, "BATCH", 2)
    codes = [f"K8{number:04d}" for number in range(5)]
    rows = [
        [code, f"Batch Surgery {code}", "QWE", "EMIS Web", "SystmOne", "01/04/2025", "2025-07-28"] for code in codes
    ]
    version = TemplateVersion.objects.published().order_by("-number").first()
    templates = {item.key: item for item in version.items().select_related("phase")}

    counts = importing.apply(uploaded(csv_bytes(*rows), importer, delivery_partner), access.starter(importer), importer)

    assert counts == {RowKind.NEW: 5}
    started = list(PracticeMigration.objects.filter(practice__ods_code__in=codes).order_by("practice__ods_code"))
    assert [migration.practice.ods_code for migration in started] == codes
    for migration in started:
        items = list(migration.items.select_related("phase"))
        assert sorted(item.key for item in items) == sorted(templates)
        dates = migration.milestone_dates()
        for item in items:
            template = templates[item.key]
            assert [getattr(item, name) for name in ItemTemplate.COPIED_FIELDS] == [
                getattr(template, name) for name in ItemTemplate.COPIED_FIELDS
            ]
            assert (item.phase.key, item.phase.position) == (template.phase.key, template.phase.position)
            assert item.due_on == scheduling.due_date(dates, template.anchor, template.offset_days)
            assert item.revision == 0 and item.owner_id is None and item.note == ""
            if template.condition and not getattr(migration, template.condition):
                assert (item.status, item.reason) == ("not_applicable", item.condition_reason())
            else:
                assert (item.status, item.reason) == ("to_do", "")
        assert list(Event.objects.filter(migration=migration).values_list("kind", "actor")) == [
            (Event.Kind.CREATED, importer.pk)
        ]
    ids = [migration.pk for migration in started]
    kept = progress_figures(ids)
    ChecklistProgress.recount(ids)
    assert progress_figures(ids) == kept and len(kept) == 5

    # The same practices with go-live a week later: every open go-live item moves, each with its event.
    moved = [[*row[:6], "2025-08-04"] for row in rows]
    counts = importing.apply(
        uploaded(csv_bytes(*moved), importer, delivery_partner), access.starter(importer), importer
    )

    assert counts == {RowKind.UPDATE: 5}
    for migration in started:
        migration.refresh_from_db()
        assert migration.go_live_on == date(2025, 8, 4)
        dates = migration.milestone_dates()
        replans = dict(
            Event.objects.filter(migration=migration, kind=Event.Kind.REPLAN).values_list("item_id", "new_value")
        )
        assert replans
        for item in migration.items.filter(pk__in=replans):
            assert item.due_on == scheduling.due_date(dates, item.anchor, item.offset_days)
            assert replans[item.pk] == item.due_on.isoformat() and item.revision == 1
        assert Event.objects.filter(migration=migration, kind=Event.Kind.MILESTONE, field="go_live_on").count() == 1
    kept = progress_figures(ids)
    ChecklistProgress.recount(ids)
    assert progress_figures(ids) == kept


def test_importing_the_same_file_twice_changes_nothing_the_second_time(importer, delivery_partner):
    content = csv_bytes(UPDATE_ROW, NEW_ROW + ["", "", importer.email])
    importing.apply(uploaded(content, importer, delivery_partner), access.starter(importer), importer)
    before = database_state()

    again = uploaded(content, importer, delivery_partner)
    preview = importing.preview(again, access.starter(importer))
    with pytest.raises(importing.ImportRefused, match="would change nothing"):
        importing.apply(again, access.starter(importer), importer)

    assert preview.counts == {RowKind.UNCHANGED: 2}
    assert preview.changes_nothing
    assert database_state() == before
    again.refresh_from_db()
    assert again.applied_at is None


def test_a_file_that_changes_nothing_offers_no_import_and_its_confirmation_is_refused(
    client, importer, delivery_partner
):
    content = csv_bytes(UPDATE_ROW)
    importing.apply(uploaded(content, importer, delivery_partner), access.starter(importer), importer)
    again = uploaded(content, importer, delivery_partner)
    before = database_state()
    client.force_login(importer)
    url = reverse("migrations:import_preview", kwargs={"pk": again.pk})

    page = client.get(url).content.decode()
    refused = client.post(url, follow=True).content.decode()

    assert "there is nothing to import" in text(element(page, "changes-nothing"))
    assert "Import these migrations" not in page
    assert "importing it would change nothing. Nothing was imported." in refused
    assert database_state() == before
    again.refresh_from_db()
    assert again.applied_at is None


def test_an_applied_import_is_not_applied_again(client, importer, delivery_partner):
    upload = uploaded(csv_bytes(NEW_ROW), importer, delivery_partner)
    importing.apply(upload, access.starter(importer), importer)
    before = database_state()
    client.force_login(importer)

    response = client.post(reverse("migrations:import_preview", kwargs={"pk": upload.pk}), follow=True)

    assert "imported already" in response.content.decode()
    assert database_state() == before


def test_a_row_the_model_refuses_while_applying_rolls_back_every_row(importer, delivery_partner, monkeypatch):
    # Row 2 (new) is applied first; the update on row 3 fails as if someone changed the migration meanwhile.
    def refuse(changes, *, by, reason="", count=True):
        raise ValidationError({"go_live_on": "Go-live cannot be before final data production (FDP)."})

    monkeypatch.setattr(PracticeMigration, "change_milestones_of", refuse)
    upload = uploaded(csv_bytes(NEW_ROW, UPDATE_ROW), importer, delivery_partner)
    before = database_state()

    with pytest.raises(importing.ImportRefused, match="Row 3: Go-live cannot be before"):
        importing.apply(upload, access.starter(importer), importer)

    assert database_state() == before
    upload.refresh_from_db()
    assert upload.applied_at is None


def test_a_file_with_an_error_cannot_be_applied(importer, delivery_partner):
    upload = uploaded(
        csv_bytes(NEW_ROW, ["K82002", "Bad Surgery", "QWE", "EMIS Web", "EMIS Web", "01/04/2025", ""]),
        importer,
        delivery_partner,
    )
    before = database_state()

    with pytest.raises(importing.ImportRefused, match="rows with errors"):
        importing.apply(upload, access.starter(importer), importer)

    assert database_state() == before


def test_an_xlsx_file_with_real_excel_dates_is_imported(importer, delivery_partner, migration):
    row = [*UPDATE_ROW[:5], datetime(2025, 3, 3), datetime(2025, 6, 16), date(2025, 4, 14)]
    upload = uploaded(xlsx_bytes(row, NEW_ROW), importer, delivery_partner, "orders.xlsx")

    counts = importing.apply(upload, access.starter(importer), importer)

    assert counts == {RowKind.NEW: 1, RowKind.UPDATE: 1}
    migration.refresh_from_db()
    assert migration.go_live_on == NEW_GO_LIVE_ON


def test_headings_are_matched_in_any_case_and_by_their_aliases(importer, delivery_partner):
    header = ["ods", "PRACTICE", "icb", "Source system", "target system", "order accepted", "go live", "idp date"]
    row = ["k82001", "New Road Surgery", "qwe", "emis web", "TPP", "1 4 2025", "28-07-2025", "2025-05-12"]

    preview = preview_of(csv_bytes(row, header=header), importer, delivery_partner)

    [new] = preview.rows
    assert new.kind == RowKind.NEW
    assert (new.ods_code, new.source.system_name, new.target.system_name) == ("K82001", "EMIS Web", "SystmOne")
    assert new.dates == {"order_accepted": date(2025, 4, 1), "go_live": date(2025, 7, 28), "idp": date(2025, 5, 12)}


def test_a_system_may_be_given_by_the_first_word_of_its_name_or_its_suppliers(importer, delivery_partner):
    # "EMIS" (EMIS Web, by EMIS Health) names one supplier; "Test" names two, so it names none.
    SupplierFactory(name="Test Labs", system_name="Test One")
    SupplierFactory(name="Test Works", system_name="Test Two")
    emis = ["K82001", "New Road Surgery", "QWE", "EMIS", "tpp", "01/04/2025", "28/07/2025"]
    ambiguous = ["K82002", "Old Road Surgery", "QWE", "EMIS", "Test", "01/04/2025", "28/07/2025"]

    preview = preview_of(csv_bytes(emis, ambiguous), importer, delivery_partner)

    new = preview.rows[0]
    assert (new.kind, new.source.system_name, new.target.system_name) == (RowKind.NEW, "EMIS Web", "SystmOne")
    assert [(row, heading) for row, heading, _ in problems(preview)] == [(3, "New system")]
    assert 'No clinical system is called "Test"' in problems(preview)[0][2]


def test_a_utf8_file_with_a_byte_order_mark_is_read(importer, delivery_partner):
    preview = preview_of("\ufeff".encode() + csv_bytes(NEW_ROW), importer, delivery_partner)

    assert preview.counts == {RowKind.NEW: 1}


def test_the_project_manager_is_changed_on_an_update(importer, delivery_partner, migration):
    upload = uploaded(
        csv_bytes([*UPDATE_ROW[:6], "09/06/2025", "", "", importer.email.upper()]), importer, delivery_partner
    )

    counts = importing.apply(upload, access.starter(importer), importer)

    assert counts == {RowKind.UPDATE: 1}
    migration.refresh_from_db()
    assert migration.project_manager == importer
    assert Event.objects.filter(migration=migration, field="project_manager", new_value=str(importer)).exists()


def test_a_support_admin_imports_for_the_delivery_partner_chosen(support_admin, delivery_partner, migration):
    upload = uploaded(csv_bytes(NEW_ROW, UPDATE_ROW), support_admin, delivery_partner)

    counts = importing.apply(upload, access.starter(support_admin), support_admin)

    assert counts == {RowKind.NEW: 1, RowKind.UPDATE: 1}
    assert Practice.objects.get(ods_code="K82001").delivery_partner == delivery_partner


def test_the_preview_costs_the_same_few_queries_however_many_rows(
    importer, delivery_partner, django_assert_max_num_queries
):
    rows = [
        [f"K8{number:04d}", f"Practice {number}", "QWE", "EMIS Web", "SystmOne", "01/04/2025", ""]
        for number in range(1200)
    ]
    upload = uploaded(csv_bytes(*rows), importer, delivery_partner)
    starter = access.starter(importer)

    # Suppliers and ICBs once; per batch of 500: practices, their migrations, project managers.
    with django_assert_max_num_queries(2 + 3 * 3):
        preview = importing.preview(upload, starter)

    assert preview.counts == {RowKind.NEW: 1200}
    assert len(preview.rows) == importing.PAGE_SIZE


def test_the_preview_pages_and_filters_rows(importer, delivery_partner):
    rows = [
        [f"K8{number:04d}", f"Practice {number}", "QWE", "EMIS Web", "SystmOne", "01/04/2025", ""]
        for number in range(250)
    ]
    rows[200][3] = "Nonesuch"
    content = csv_bytes(*rows)

    page_3 = preview_of(content, importer, delivery_partner, page=3)
    errors = preview_of(content, importer, delivery_partner, show=RowKind.ERROR)

    assert [row.number for row in page_3.rows] == list(range(202, 252))
    assert page_3.pages == 3
    assert [row.number for row in errors.rows] == [202]
    assert errors.matching == 1


# --- each kind of bad input ------------------------------------------------------------------------------


def test_an_unknown_system_is_an_error_naming_the_systems_known(importer, delivery_partner):
    preview = preview_of(csv_bytes([*NEW_ROW[:3], "EMIS Webb", *NEW_ROW[4:]]), importer, delivery_partner)

    assert problems(preview) == [
        (2, "Current system", 'No clinical system is called "EMIS Webb". Use one of: EMIS Web, SystmOne.')
    ]
    assert not preview.can_apply


def test_the_same_ods_code_twice_is_an_error_on_every_occurrence(importer, delivery_partner):
    preview = preview_of(csv_bytes(NEW_ROW, UPDATE_ROW, ["k82001", *NEW_ROW[1:]]), importer, delivery_partner)

    assert [row.kind for row in preview.rows] == [RowKind.ERROR, RowKind.UPDATE, RowKind.ERROR]
    assert problems(preview) == [
        (2, "ODS code", "K82001 is on 2 rows of the file: keep one row per practice."),
        (4, "ODS code", "K82001 is on 2 rows of the file: keep one row per practice."),
    ]


@pytest.mark.parametrize(
    ("dates", "column", "message"),
    [
        (["01/04/2025", "01/03/2025"], "Planned go-live", "Go-live must be after the order date."),
        (
            ["01/04/2025", "28/07/2025", "", "30/07/2025"],
            "Planned go-live",
            "Go-live cannot be before final data production (FDP).",
        ),
        (
            ["01/04/2025", "28/07/2025", "25/07/2025", "20/07/2025"],
            "FDP",
            "Final data production (FDP) must be after initial data production (IDP).",
        ),
    ],
)
def test_an_impossible_date_order_is_the_models_error(importer, delivery_partner, dates, column, message):
    preview = preview_of(csv_bytes([*NEW_ROW[:5], *dates]), importer, delivery_partner)

    assert (2, column, message) in problems(preview)


def test_an_update_that_would_put_dates_out_of_order_is_an_error(importer, delivery_partner):
    # The demo migration's FDP is 6 June, which the file does not give; go-live on 1 June would
    # come before it: the message says where that date comes from.
    preview = preview_of(csv_bytes([*UPDATE_ROW[:6], "01/06/2025"]), importer, delivery_partner)

    assert problems(preview) == [
        (
            2,
            "Planned go-live",
            "Go-live cannot be before final data production (FDP). The migration's final data production (FDP) "
            "date is 6 June 2025, which this row does not change: change that on the migration's milestones page, "
            "or change this row's dates.",
        )
    ]


def test_a_clash_with_a_date_the_file_does_not_give_says_what_the_migration_has(importer, delivery_partner, migration):
    # An order date moved past the migration's kick-off (10 March 2025), which no column gives.
    kick_off = migration.kick_off_on
    preview = preview_of(csv_bytes([*UPDATE_ROW[:5], "01/04/2025", UPDATE_ROW[6]]), importer, delivery_partner)

    found = problems(preview)
    assert found, "the row is refused"
    row, heading, message = next(problem for problem in found if problem[1] == "Kick-off")
    assert row == 2
    assert message.startswith("Kick-off cannot be before the order is accepted.")
    assert (
        f"The migration's kick-off date is {kick_off.day} {kick_off:%B} {kick_off.year}, which this row does not "
        "change: change that on the migration's milestones page, or change this row's dates."
    ) in message


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("31/02/2025", "Order date must be a real date, for example 27/03/2027"),
        ("next week", "Order date must be a date, for example 27/03/2027 or 2027-03-27"),
        ("01/04/1999", "Order date must be between 1 January 2000 and 31 December 2099"),
        ("", "Enter the order date."),
    ],
)
def test_a_date_that_is_not_one_is_an_error(importer, delivery_partner, cell, message):
    preview = preview_of(csv_bytes([*NEW_ROW[:5], cell, ""]), importer, delivery_partner)

    assert problems(preview) == [(2, "Order date", message)]


def test_a_formula_in_a_csv_cell_is_an_error(importer, delivery_partner):
    row = [*NEW_ROW[:1], '=HYPERLINK("http://example.com","Surgery")', *NEW_ROW[2:]]

    preview = preview_of(csv_bytes(row, ["K82002", "@SUM(1+1)", *NEW_ROW[2:]]), importer, delivery_partner)

    assert problems(preview) == [
        (2, "Practice name", "Practice name holds a formula: type the value itself."),
        (3, "Practice name", "Practice name holds a formula: type the value itself."),
    ]


def test_a_formula_in_an_xlsx_cell_is_an_error_whatever_it_computes(importer, delivery_partner):
    preview = preview_of(xlsx_bytes([*NEW_ROW[:5], "=TODAY()", NEW_ROW[6]]), importer, delivery_partner, "orders.xlsx")

    assert problems(preview) == [(2, "Order date", "Order date holds a formula: type the value itself.")]


@pytest.mark.parametrize("its_name", [True, False])
def test_a_practice_another_delivery_partner_supports_is_an_error_that_does_not_name_it(
    importer, delivery_partner, other_migration, its_name
):
    practice = other_migration.practice
    name = practice.name if its_name else "Some Other Surgery"
    row = [practice.ods_code, name, practice.icb.code, "EMIS Web", "SystmOne", "01/04/2025", ""]

    preview = preview_of(csv_bytes(row), importer, delivery_partner)

    # Whose it is first, whatever the name: the name the tracker has is not shown.
    assert [row.display_name for row in preview.rows] == [name]
    assert problems(preview) == [
        (
            2,
            "ODS code",
            f"Another delivery partner supports the practice {practice.ods_code}: if it has moved to yours, "
            "a support admin can change its delivery partner.",
        )
    ]


def test_a_practice_with_no_delivery_partner_is_for_a_support_admin_to_start(importer, delivery_partner, icb):
    orphan = PracticeFactory(ods_code="Y94001", name="Orphan Surgery", icb=icb, delivery_partner=None)
    row = [orphan.ods_code, "Orphan Surgery", icb.code, "EMIS Web", "SystmOne", "01/04/2025", ""]

    preview = preview_of(csv_bytes(row), importer, delivery_partner)

    assert problems(preview) == [
        (
            2,
            "ODS code",
            "The practice Y94001 has no delivery partner in the tracker: ask a support admin to start its migration.",
        )
    ]


def test_a_practice_whose_unfinished_migration_has_other_systems_is_an_error(importer, delivery_partner):
    preview = preview_of(
        csv_bytes([*UPDATE_ROW[:3], "SystmOne", "EMIS Web", *UPDATE_ROW[5:]]), importer, delivery_partner
    )

    [(row, column, message)] = problems(preview)
    assert (row, column) == (2, "New system")
    assert message.startswith("Riverside Medical Centre (H85001) has a migration that is not finished, from EMIS Web")


@pytest.mark.parametrize(
    ("cells", "column", "message"),
    [
        (
            {0: "H8500"},
            "ODS code",
            "Enter a GP practice ODS code: one letter followed by five digits, for example A81001.",
        ),
        ({0: ""}, "ODS code", "Enter the practice's ODS code."),
        # Too long and of the wrong form: told the form, once.
        (
            {0: "H850012345"},
            "ODS code",
            "Enter a GP practice ODS code: one letter followed by five digits, for example A81001.",
        ),
        ({1: "N" * 400}, "Practice name", "The practice name must be 200 characters or fewer."),
        ({1: ""}, "Practice name", "Enter the practice name."),
        ({2: "QXX"}, "ICB code", 'No ICB has the code or name "QXX". The import page lists every ICB with its code.'),
        ({4: "EMIS Web"}, "New system", "The new system must be different from the current system."),
        (
            {9: "nobody@example.nhs.uk"},
            "Project manager's e-mail",
            "nobody@example.nhs.uk is not a project manager at the practice's delivery partner.",
        ),
    ],
)
def test_each_bad_cell_is_named_by_row_and_column(importer, delivery_partner, cells, column, message):
    row = [*NEW_ROW, "", "", ""]
    for index, value in cells.items():
        row[index] = value

    preview = preview_of(csv_bytes(row), importer, delivery_partner)

    assert (2, column, message) in problems(preview)


@pytest.mark.parametrize(
    "given", ["qwe", "NHS South West London Integrated Care Board", "nhs south west london integrated care board"]
)
def test_the_icb_is_found_by_its_code_or_its_name_in_any_case(importer, delivery_partner, icb, given):
    row = list(NEW_ROW)
    row[2] = given

    preview = preview_of(csv_bytes(row), importer, delivery_partner)

    assert problems(preview) == []
    assert preview.rows[0].icb == icb


def test_the_upload_page_lists_every_icb_with_its_code(client, importer, icb):
    client.force_login(importer)

    page = text(client.get(reverse("migrations:import_upload")).content.decode())

    assert "ICB codes The ICB column takes an ICB's code or its full name." in page
    assert "QWE NHS South West London Integrated Care Board" in page


def test_a_project_manager_of_another_delivery_partner_is_an_error(importer, delivery_partner, other_migration):
    stranger = UserFactory(email="pm@other.nhs.uk")
    MembershipFactory(
        user=stranger,
        role=Role.DELIVERY_PARTNER,
        practice=None,
        delivery_partner=other_migration.practice.delivery_partner,
    )

    preview = preview_of(csv_bytes([*NEW_ROW, "", "", stranger.email]), importer, delivery_partner)

    assert problems(preview) == [
        (2, "Project manager's e-mail", "pm@other.nhs.uk is not a project manager at the practice's delivery partner.")
    ]


def test_an_existing_practice_in_another_icb_than_the_file_says_is_an_error(importer, delivery_partner, world):
    # Hilltop is the demo delivery partner's, in another ICB than QWE.
    hilltop = world["hilltop"].practice
    preview = preview_of(
        csv_bytes(["K81002", "Hilltop Surgery", "QWE", "SystmOne", "EMIS Web", "01/01/2025", ""]),
        importer,
        delivery_partner,
    )

    assert problems(preview) == [(2, "ICB code", f"{hilltop} is in {hilltop.icb} ({hilltop.icb.code}).")]


def test_a_row_naming_another_practice_than_its_ods_code_is_refused_and_changes_nothing(client, importer, migration):
    # H85001 is the demo practice, Riverside Medical Centre, whose migration is under way.
    row = ["H85001", "Hillview Medical Centre", *UPDATE_ROW[2:]]
    response = upload_file(client, importer, csv_bytes(row), "orders.csv")
    before = database_state()

    page = client.get(response.url).content.decode()
    confirmed = client.post(response.url, follow=True)

    message = (
        "H85001 is Riverside Medical Centre in the tracker, not Hillview Medical Centre: check the ODS code."
        + CORRECTED_BY_SUPPORT
    )
    assert f"Row 2, ODS code: {message}" in text(page)
    assert text(element(page, "row-2")).startswith("Row 2 Practice Riverside Medical Centre (H85001)")
    assert "Hillview Medical Centre (H85001)" not in text(page)
    assert "The file has rows with errors" in text(confirmed.content.decode())
    assert database_state() == before
    migration.refresh_from_db()
    assert migration.go_live_on == GO_LIVE_ON
    assert MigrationImport.objects.get().applied_at is None


@pytest.mark.parametrize(
    ("given", "kind"),
    [
        ("ST MARY'S AND ST JOHN'S SURGERY", "New"),
        ("  St  Mary's & St John's   Surgery. ", "New"),
        ("St Mary\u2019s and St John\u2019s Surgery", "New"),
        ("St Marys and St Johns Surgery", "Error"),
        ("Hillview Medical Centre", "Error"),
    ],
    ids=["capitals", "spacing, ampersand and full stop", "curly apostrophes", "apostrophes left out", "another name"],
)
def test_a_known_practice_is_shown_by_the_trackers_name_and_matched_leniently(
    client, importer, delivery_partner, icb, given, kind
):
    PracticeFactory(
        ods_code="Y90003", name="St Mary's and St John's Surgery", icb=icb, delivery_partner=delivery_partner
    )
    response = upload_file(client, importer, csv_bytes(["Y90003", given, *NEW_ROW[2:]]), "orders.csv")

    row = text(element(client.get(response.url).content.decode(), "row-2"))

    assert row.startswith(f"Row 2 Practice St Mary's and St John's Surgery (Y90003) What happens {kind}")
    mismatch = (
        f"Y90003 is St Mary's and St John's Surgery in the tracker, not {given}: check the ODS code."
        + CORRECTED_BY_SUPPORT
    )
    assert (mismatch in row) == (kind == "Error")


def test_a_row_with_a_bad_cell_still_says_its_ods_code_is_another_practices(importer, delivery_partner, migration):
    row = ["H85001", "Hillview Medical Centre", *UPDATE_ROW[2:5], "next week", UPDATE_ROW[6]]

    preview = preview_of(csv_bytes(row), importer, delivery_partner)

    assert problems(preview) == [
        (2, "Order date", "Order date must be a date, for example 27/03/2027 or 2027-03-27"),
        (
            2,
            "ODS code",
            "H85001 is Riverside Medical Centre in the tracker, not Hillview Medical Centre: check the ODS code."
            + CORRECTED_BY_SUPPORT,
        ),
    ]


def upload_page_columns(client, user) -> dict[str, str]:
    """The upload page's table of columns: each column's heading -> what it says is needed."""
    page = client.get(reverse("migrations:import_upload")).content.decode()
    table = page.split("The columns</caption>", 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table.split("<tbody", 1)[1], re.DOTALL)
    cells = [[text(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)] for row in rows]
    return {heading: needed for heading, needed, _ in cells}


def test_the_upload_page_says_which_columns_and_cells_are_needed(client, importer):
    client.force_login(importer)

    needed = upload_page_columns(client, importer)

    assert needed["ODS code"] == "Yes, in every row"
    assert needed["New system"] == "Yes, in every row"
    assert needed["Order date"] == (
        "The column. A cell may be empty only for a practice whose migration is under way: "
        "its order date stays as it is."
    )
    assert needed["Planned go-live"] == "The column. A cell may be empty until the date is agreed."
    assert needed["IDP"] == needed["Project manager's e-mail"] == "No"


def test_the_cells_the_upload_page_says_may_be_empty_are_taken_empty(importer, delivery_partner, migration):
    new_without_go_live = [*NEW_ROW[:6], ""]
    new_without_order = ["K82002", "Second Road Surgery", *NEW_ROW[2:5], "", NEW_ROW[6]]
    update_without_order = [*UPDATE_ROW[:5], "", UPDATE_ROW[6]]

    preview = preview_of(
        csv_bytes(new_without_go_live, new_without_order, update_without_order), importer, delivery_partner
    )

    assert [row.kind for row in preview.rows] == [RowKind.NEW, RowKind.ERROR, RowKind.UPDATE]
    assert problems(preview) == [(3, "Order date", "Enter the order date.")]


# --- files that cannot be read at all: refused on upload, nothing saved -----------------------------------


def upload_file(client, user, content: bytes, name: str):
    client.force_login(user)
    upload = io.BytesIO(content)
    upload.name = name
    return client.post(reverse("migrations:import_upload"), {"file": upload})


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (
            csv_bytes(["K82001", "Café Surgery", *NEW_ROW[2:]], encoding="cp1252"),
            "orders.csv",
            "The file is not saved as UTF-8 text: row 2 has characters that cannot be read.",
        ),
        (
            csv_bytes(NEW_ROW[:6], header=HEADER[:6]),
            "orders.csv",
            "The file has no &quot;Planned go-live&quot; column. The first row must name the columns",
        ),
        (b"x" * (10 * 1024 * 1024), "orders.csv", "The file is 10.0 MB: the largest file that can be imported is 2 MB"),
        (csv_bytes(), "orders.csv", "The file has its headings but no rows under them"),
        (b"\xd0\xcf\x11\xe0" + b"\0" * 100, "orders.xls", "The file is in the old Excel format (.xls)."),
        (b"PK\x03\x04 not really a zip", "orders.xlsx", "The file cannot be read as an Excel workbook."),
        (b"ODS code\nH85001\n", "orders.txt", "The file must be a CSV file (.csv) or an Excel workbook (.xlsx)."),
    ],
    ids=["encoding", "missing column", "10 MB", "no rows", "xls", "broken xlsx", "txt"],
)
def test_a_file_that_cannot_be_read_is_refused_with_a_message(client, importer, content, name, message):
    before = MigrationImport.objects.count()

    response = upload_file(client, importer, content, name)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert MigrationImport.objects.count() == before


def test_more_rows_than_the_limit_are_refused(client, importer):
    rows = [
        [f"K{number:05d}", f"Practice {number}", "QWE", "EMIS Web", "SystmOne", "01/04/2025", ""]
        for number in range(MAX_ROWS + 1)
    ]

    response = upload_file(client, importer, csv_bytes(*rows), "orders.csv")

    assert response.status_code == 400
    assert "The file has more than 5,000 rows" in response.content.decode()
    assert not MigrationImport.objects.exists()


def test_a_file_read_directly_reports_its_problem():
    with pytest.raises(FileProblem, match="has no"):
        TrackerFile("orders.csv", b"Name,Something\nA,B\n")


# --- the pages -------------------------------------------------------------------------------------------------


def test_upload_then_preview_then_confirm_lands_on_the_imports_page(client, importer, migration):
    response = upload_file(client, importer, csv_bytes(UPDATE_ROW, NEW_ROW), "orders.csv")
    upload = MigrationImport.objects.get()
    assert response.url == reverse("migrations:import_preview", kwargs={"pk": upload.pk})
    assert upload.uploaded_by == importer and upload.row_count == 2

    preview = client.get(response.url)
    confirmed = client.post(response.url, follow=True)

    assert preview.status_code == 200
    assert "Check the import before saving" in preview.content.decode()
    assert "Nothing has been saved yet." in preview.content.decode()
    # Its page, which now says what the import did to each row, and leads back to the dashboard.
    assert confirmed.redirect_chain[-1][0] == response.url
    assert f'class="nhsuk-back-link" href="{reverse("migrations:dashboard")}"' in confirmed.content.decode()
    assert "Imported orders.csv: 1 migration started, 1 updated, 0 unchanged." in confirmed.content.decode()
    # Seen again afterwards, the page says what was done, not that nothing is saved yet.
    again = client.get(response.url).content.decode()
    assert '<h1 class="nhsuk-heading-l">Imported</h1>' in again
    assert "Nothing has been saved yet" not in again
    assert "This file was imported on" in again
    migration.refresh_from_db()
    assert migration.go_live_on == NEW_GO_LIVE_ON


def test_an_imported_files_page_says_what_the_import_did_to_each_row(client, importer, migration):
    response = upload_file(client, importer, csv_bytes(UPDATE_ROW, NEW_ROW), "orders.csv")
    client.post(response.url)
    started = PracticeMigration.objects.get(practice__ods_code="K82001")

    page = client.get(response.url).content.decode()
    updated_only = text(client.get(response.url, {"show": "update"}).content.decode())

    rows = {number: text(element(page, f"row-{number}")) for number in (2, 3)}
    assert "Each row below says what the import did to it." in text(page)
    assert "Started (1)" in text(page) and "Updated (1)" in text(page) and "Unchanged (0)" in text(page)
    assert rows[2].startswith("Row 2 Practice Riverside Medical Centre (H85001) What the import did Updated")
    assert "Changed as the file says" in rows[2]
    assert "What the import did Started" in rows[3] and "Go-live: 28 Jul 2025" in rows[3]
    assert f'href="{reverse("migrations:migration_detail", kwargs={"pk": started.pk})}"' in element(page, "row-3")
    assert "New Road Surgery" not in updated_only and "Riverside Medical Centre" in updated_only


def test_the_preview_of_a_new_row_shows_every_date_it_would_save(client, importer):
    row = [*NEW_ROW, "03/06/2025", "21/07/2025"]  # with its IDP and FDP

    response = upload_file(client, importer, csv_bytes(row), "orders.csv")
    page = text(client.get(response.url).content.decode())

    assert "Order accepted: 1 Apr 2025" in page
    assert "Initial data production (IDP): 3 Jun 2025" in page
    assert "Final data production (FDP): 21 Jul 2025" in page
    assert "Go-live: 28 Jul 2025" in page
    assert not PracticeMigration.objects.filter(practice__ods_code="K82001").exists()


def test_an_overlong_value_is_shown_cut_short_beside_its_error(client, importer):
    name = "Very Long Surgery " * 5000  # 90,000 characters

    response = upload_file(client, importer, csv_bytes(["K82001", name, *NEW_ROW[2:]]), "orders.csv")
    html = client.get(response.url).content.decode()

    assert "The practice name must be 200 characters or fewer" in html
    assert name[:199] + "…" in html
    assert len(html) < 40_000


def test_a_colleague_at_the_same_delivery_partner_opens_and_applies_an_upload(client, importer, delivery_partner):
    upload = uploaded(csv_bytes(NEW_ROW), importer, delivery_partner)
    colleague = with_two_factor_device(UserFactory())
    Membership.objects.create(user=colleague, role=Role.DELIVERY_PARTNER, delivery_partner=delivery_partner)
    client.force_login(colleague)
    url = reverse("migrations:import_preview", kwargs={"pk": upload.pk})

    page = client.get(url)
    client.post(url)

    assert page.status_code == 200 and "New Road Surgery" in page.content.decode()
    assert f"uploaded by {importer} on " in page.content.decode()  # whose it is, before applying it
    assert Practice.objects.get(ods_code="K82001").delivery_partner == delivery_partner
    upload.refresh_from_db()
    assert (upload.uploaded_by, upload.applied_by) == (importer, colleague)


def test_an_upload_is_a_404_at_another_delivery_partner(client, importer, delivery_partner, other_migration):
    upload = uploaded(csv_bytes(NEW_ROW), importer, delivery_partner)
    stranger = with_two_factor_device(UserFactory())
    Membership.objects.create(
        user=stranger, role=Role.DELIVERY_PARTNER, delivery_partner=other_migration.practice.delivery_partner
    )
    client.force_login(stranger)
    url = reverse("migrations:import_preview", kwargs={"pk": upload.pk})

    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    assert not Practice.objects.filter(ods_code="K82001").exists()
    upload.refresh_from_db()
    assert upload.applied_at is None


def test_someone_who_may_not_start_migrations_gets_403_on_an_upload(client, importer, delivery_partner, icb_user):
    upload = uploaded(csv_bytes(NEW_ROW), importer, delivery_partner)
    client.force_login(icb_user)

    assert client.get(reverse("migrations:import_preview", kwargs={"pk": upload.pk})).status_code == 403


def test_the_template_files_have_the_columns(client, importer):
    client.force_login(importer)

    as_csv = client.get(reverse("migrations:import_template_csv"))
    as_xlsx = client.get(reverse("migrations:import_template_xlsx"))

    assert as_csv.content.decode("utf-8-sig").splitlines() == [",".join(HEADER)]
    with TrackerFile("template.xlsx", as_xlsx.content) as tracker:
        assert list(tracker.headings.values()) == HEADER


def test_a_row_with_a_cell_that_cannot_be_read_still_names_its_other_problems(importer, delivery_partner):
    row = [
        "K82007",
        "x" * 201,
        "QWE",
        "EMIS Web",
        "EMIS Web",
        "01/04/2025",
        "28/07/2025",
        "30/07/2025",
        "",
        "nobody@x.nhs.uk",
    ]

    preview = preview_of(csv_bytes(row), importer, delivery_partner)

    found = problems(preview)
    columns = [column for _, column, _ in found]
    assert "Practice name" in columns
    assert any("must be different" in message for _, _, message in found), found
    assert any("IDP" in column or "initial data production" in message for _, column, message in found), found
    assert (
        2,
        "Project manager's e-mail",
        "nobody@x.nhs.uk is not a project manager at the practice's delivery partner.",
    ) in found
    assert not preview.can_apply
