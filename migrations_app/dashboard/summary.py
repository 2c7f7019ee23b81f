"""The dashboard's summary panel, computed from the rows the table shows: counts by RAG status
(and of the rows on hold or cancelled, which have none) and by phase, the go-lives in the next
four weeks, migrations by go-live month and phase (the chart and its table), and cutover length
by supplier pair."""

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from statistics import median

from migrations_app.dashboard.rag import NOT_RATED, Rag
from migrations_app.dashboard.rows import SOON_DAYS, Options, Row

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
class Summary:
    total: int
    by_rag: list[tuple[Rag, int]]
    # Rows with no RAG status, by status: (status, label, count), for the statuses there are.
    not_rated: list[tuple[str, str, int]]
    phases: list[PhaseCount]
    soon: list[Row]
    soon_count: int
    months: list[Month]
    cutovers: list[Cutover]


def summarise(rows: list[Row], options: Options) -> Summary:
    rag_counts = Counter(row.rag for row in rows)
    status_counts = Counter(row.status for row in rows if not row.is_rated)
    phase_counts = Counter(row.phase_key for row in rows)
    titles = dict(options.phases)
    for row in rows:
        titles.setdefault(row.phase_key, row.phase_title)
    phases = [PhaseCount(index, key, title, phase_counts[key]) for index, (key, title) in enumerate(titles.items())]
    soon = sorted(
        (row for row in rows if row.days_to_go is not None and 0 <= row.days_to_go < SOON_DAYS),
        key=lambda row: (row.go_live_on, row.practice_name.casefold()),
    )
    return Summary(
        total=len(rows),
        by_rag=[(rag, rag_counts[rag]) for rag in Rag],
        not_rated=[
            (status, label, status_counts[status]) for status, label in NOT_RATED.items() if status_counts[status]
        ],
        phases=phases,
        soon=soon[:SOON_SHOWN],
        soon_count=len(soon),
        months=_months(rows, phases),
        cutovers=_cutovers(rows),
    )


def _months(rows: list[Row], phases: list[PhaseCount]) -> list[Month]:
    """Migrations by go-live month and current phase; migrations without a go-live date last."""
    by_month: dict[date | None, Counter] = defaultdict(Counter)
    for row in rows:
        month = row.go_live_on.replace(day=1) if row.go_live_on else None
        by_month[month][row.phase_key] += 1
    widest = max((sum(counts.values()) for counts in by_month.values()), default=0)
    months = []
    for month in sorted(by_month, key=lambda month: (month is None, month or date.min)):
        counts = by_month[month]
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


def _cutovers(rows: list[Row]) -> list[Cutover]:
    """FDP to go-live, in days, for the migrations that are live, by supplier pair and overall."""
    by_pair: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        if row.cutover_days is not None:
            by_pair[row.suppliers].append(row.cutover_days)
    figures = [
        Cutover(pair, len(days), median(days), max(days))
        for pair, days in sorted(by_pair.items(), key=lambda pair: pair[0].casefold())
    ]
    if len(figures) > 1:
        every = [day for days in by_pair.values() for day in days]
        figures.append(Cutover("All supplier pairs", len(every), median(every), max(every)))
    return figures
