"""The dashboard's summary panel, over the migrations the table shows: counts by RAG status (and
of the ones on hold or cancelled, which have none) and by phase, the go-lives in the next four
weeks, migrations by go-live month and phase (the chart and its table), and cutover length by
supplier pair. Three queries whatever the number of migrations: one count grouped by RAG status,
status, phase, go-live month, whether go-live is in the next four weeks and whether the migration
is live without an FDP date (a few hundred groups at most); the first go-lives to come; the live
migrations with an FDP date grouped by supplier pair and cutover length in days (whose medians
come from those counts)."""

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Case, Count, DurationField, ExpressionWrapper, F, Q, Value, When
from django.db.models.functions import Lower, TruncMonth

from migrations_app.dashboard.phases import DATES_NOT_AGREED
from migrations_app.dashboard.rag import BY_RANK, NOT_RATED, Rag
from migrations_app.dashboard.rows import SOON_DAYS, Found, Options

MONTHS_FILLED = 36
"""The chart lists every month between the first and the last go-live when they are at most this
many months apart; further apart (a year typed wrongly), only the months that have go-lives."""
SOON_SHOWN = 10
"""How many of the coming go-lives the panel names; the rest are a link away."""


@dataclass(frozen=True)
class PhaseCount:
    index: int  # the phase's place in the chart's colours
    key: str
    title: str
    count: int


@dataclass(frozen=True)
class Segment:
    """One phase's part of a month's bar, in percent of the busiest month's total."""

    phase: PhaseCount
    count: int
    start: float
    width: float


@dataclass(frozen=True)
class Month:
    label: str
    total: int
    counts: list[int]  # one per phase, in the order of Summary.phases
    segments: list[Segment]


@dataclass(frozen=True)
class Cutover:
    suppliers: str
    count: int
    median_days: float
    longest_days: int


@dataclass(frozen=True)
class Soon:
    """A migration going live in the next four weeks."""

    pk: int
    practice_name: str
    ods_code: str
    go_live_on: date


@dataclass(frozen=True)
class Summary:
    total: int
    by_rag: list[tuple[Rag, int]]
    # Rows with no RAG status, by status: (status, label, count), for the statuses there are.
    not_rated: list[tuple[str, str, int]]
    phases: list[PhaseCount]
    soon: list[Soon]
    soon_count: int
    months: list[Month]
    cutovers: list[Cutover]
    # Live migrations the cutover lengths leave out, having no FDP date to count from.
    live_without_fdp: int = 0
    # Whether `months` holds every month between the first go-live and the last (MONTHS_FILLED).
    months_filled: bool = True
    # How many of the migrations have figures counted for another day than today (or never):
    # when some have, read the rows with rows.matching(count_stale=True).
    stale: int = 0


def summarise(found: Found, options: Options, today: date) -> Summary:
    """The summary of the migrations `found` (rows.matching()'s, with their rag_rank and
    current_phase), today, by the statements written for them (Found.rows_of)."""
    soon_window = Q(go_live_on__gte=today, go_live_on__lt=today + timedelta(days=SOON_DAYS))
    # Live as _cutovers() counts them, but with no FDP date to count a cutover length from.
    without_fdp = Q(go_live_on__lte=today, fdp_on__isnull=True)
    groups = found.rows_of(
        "summary-groups",
        lambda migrations: (
            migrations.order_by()
            .annotate(
                month=TruncMonth("go_live_on"),
                soon=Case(When(soon_window, then=Value(True)), default=Value(False)),
                counted=Case(When(progress__counts_on=today, then=Value(True)), default=Value(False)),
                live_without_fdp=Case(When(without_fdp, then=Value(True)), default=Value(False)),
            )
            .values_list("rag_rank", "status", "current_phase", "month", "soon", "counted", "live_without_fdp")
            .annotate(count=Count("pk"))
        ),
    )
    rag_counts, status_counts, phase_counts = Counter(), Counter(), Counter()
    soon_count, stale, live_without_fdp = 0, 0, 0
    by_month: dict[date | None, Counter] = defaultdict(Counter)
    for rag_rank, status, current_phase, month, soon, counted, without_fdp_date, count in groups:
        phase_key = DATES_NOT_AGREED[0] if current_phase is None else options.phases[current_phase][0]
        if rag_rank is None:
            status_counts[status] += count
        else:
            rag_counts[BY_RANK[rag_rank]] += count
        phase_counts[phase_key] += count
        by_month[month][phase_key] += count
        soon_count += count if soon else 0
        stale += 0 if counted else count
        live_without_fdp += count if without_fdp_date else 0
    titles = dict(options.phases)
    phases = [PhaseCount(index, key, title, phase_counts[key]) for index, (key, title) in enumerate(titles.items())]
    soon = [
        Soon(*values)
        for values in found.rows_of(
            "summary-soon",
            lambda migrations: (
                migrations.filter(soon_window)
                .order_by("go_live_on", Lower("practice__name"), "pk")
                .values_list("pk", "practice__name", "practice__ods_code", "go_live_on")[:SOON_SHOWN]
            ),
        )
    ]
    return Summary(
        total=sum(rag_counts.values()) + sum(status_counts.values()),
        by_rag=[(rag, rag_counts[rag]) for rag in Rag],
        not_rated=[
            (status, label, status_counts[status]) for status, label in NOT_RATED.items() if status_counts[status]
        ],
        phases=phases,
        soon=soon,
        soon_count=soon_count,
        months=_months(by_month, phases),
        months_filled=_months_filled(by_month),
        cutovers=_cutovers(found, today),
        live_without_fdp=live_without_fdp,
        stale=stale,
    )


def _months(by_month: dict[date | None, Counter], phases: list[PhaseCount]) -> list[Month]:
    """Migrations by go-live month and current phase: every month from the first go-live to the
    last, a month with none at 0 (the bars read as a timeline, so a gap must show), then the
    migrations without a go-live date."""
    widest = max((sum(counts.values()) for counts in by_month.values()), default=0)
    dated = sorted(month for month in by_month if month is not None)
    filled = _months_filled(by_month)
    shown: list[date | None] = list(_month_range(dated[0], dated[-1])) if dated and filled else list(dated)
    if None in by_month:
        shown.append(None)
    months = []
    for month in shown:
        counts = by_month.get(month, Counter())
        segments, start = [], 0.0
        for phase in phases:
            if counts[phase.key]:
                width = 100 * counts[phase.key] / widest
                segments.append(Segment(phase, counts[phase.key], start, width))
                start += width
        months.append(
            Month(
                label=month.strftime("%B %Y") if month else "Go-live not agreed",
                total=sum(counts.values()),
                counts=[counts[phase.key] for phase in phases],
                segments=segments,
            )
        )
    return months


def _months_filled(by_month: dict[date | None, Counter]) -> bool:
    """Whether the chart lists every month between the first go-live and the last (MONTHS_FILLED)."""
    dated = [month for month in by_month if month is not None]
    if not dated:
        return True
    first, last = min(dated), max(dated)
    return (last.year - first.year) * 12 + last.month - first.month < MONTHS_FILLED


def _month_range(first: date, last: date) -> Iterator[date]:
    """The first day of each month from `first`'s to `last`'s (both first days of a month)."""
    month = first
    while month <= last:
        yield month
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _cutovers(found: Found, today: date) -> list[Cutover]:
    """FDP to go-live, in days, for the migrations `found` that are live (go-live today or before)
    and have an FDP date, by supplier pair and overall: one query of counts by pair and length.
    summarise()'s groups count the live ones without an FDP date (Summary.live_without_fdp)."""
    lengths = found.rows_of(
        "summary-cutovers",
        lambda migrations: (
            migrations.filter(go_live_on__lte=today, fdp_on__isnull=False)
            .order_by()
            .annotate(length=ExpressionWrapper(F("go_live_on") - F("fdp_on"), output_field=DurationField()))
            .values_list("source_supplier__system_name", "target_supplier__system_name", "length")
            .annotate(count=Count("pk"))
        ),
    )
    by_pair: dict[str, Counter] = defaultdict(Counter)
    for source, target, length, count in lengths:
        by_pair[f"{source} to {target}"][length.days] += count
    figures = [_cutover(pair, days) for pair, days in sorted(by_pair.items(), key=lambda pair: pair[0].casefold())]
    if len(figures) > 1:
        every = sum(by_pair.values(), Counter())
        figures.append(_cutover("All supplier pairs", every))
    return figures


def _cutover(suppliers: str, days: Counter) -> Cutover:
    return Cutover(suppliers, days.total(), _median(days), max(days))


def _median(counts: Counter) -> float | int:
    """The median of the values counted in `counts` (value: how many times), as statistics.median
    would give of the values written out."""
    total = counts.total()
    middle = [(total - 1) // 2, total // 2]  # the one or two middle positions, from 0
    found, seen = [], 0
    for value in sorted(counts):
        seen += counts[value]
        while middle and middle[0] < seen:
            found.append(value)
            middle.pop(0)
    return found[0] if total % 2 else (found[0] + found[1]) / 2
