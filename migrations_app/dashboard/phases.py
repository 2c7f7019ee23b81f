"""A migration's current phase, from its milestones: the phase whose dates contain today. And how
far its checklist is behind it: the checklist's first phase with an open item (ChecklistProgress
.phase_position) compared with the phase by dates.

Each phase starts on one milestone and lasts until the next phase's starts (PHASE_STARTS, the one
place this is written). Planning for the cutover starts at the data-checking sign-off: the guide
ends initial data production with that gate (the lead clinician's), and the cutover planning
meeting is one of the planning phase's own steps. The phase is worked out in the database (an
annotation, in the rows' own query), so the dashboard filters and sorts by it at no extra query.
"""

from dataclasses import dataclass
from datetime import date

from django.db.models import Case, IntegerField, Q, Value, When

from migrations_app.models.choices import Milestone


@dataclass(frozen=True)
class PhaseStart:
    key: str  # the checklist's phase key (PhaseTemplate.key)
    milestone: Milestone  # the phase starts on this milestone's date
    title: str  # for a checklist whose phases lack this key


PHASE_STARTS = (
    PhaseStart("early-phases", Milestone.ORDER_ACCEPTED, "Early phases: decision to migrate to pre-migration tasks"),
    PhaseStart("initial-data-production", Milestone.IDP, "Initial data production"),
    PhaseStart("planning-for-cutover", Milestone.DATA_CHECKING_SIGNOFF, "Planning for the cutover"),
    PhaseStart("cutover-and-go-live", Milestone.FDP, "Cutover and Go Live"),
    PhaseStart("post-go-live", Milestone.GO_LIVE, "Post Go Live"),
)
PHASE_KEYS = [start.key for start in PHASE_STARTS]
DATES_NOT_AGREED = ("dates-not-agreed", "Dates not agreed")
"""The current phase of a migration with no milestone agreed."""


def phase_by_dates(today: date) -> Case:
    """The index in PHASE_STARTS of each migration's phase on `today`, as SQL: the last phase whose
    start milestone is on or before today. A migration with milestones agreed but none of them
    reached yet (the order still to come) is in the early phases, which run from the decision to
    migrate; one with no milestone agreed has none (NULL: DATES_NOT_AGREED)."""
    reached = [
        When(**{f"{start.milestone.field_name}__lte": today}, then=Value(index))
        for index, start in reversed(list(enumerate(PHASE_STARTS)))
    ]
    any_agreed = Q()
    for milestone in Milestone:
        any_agreed |= Q(**{f"{milestone.field_name}__isnull": False})
    return Case(*reached, When(any_agreed, then=Value(0)), default=None, output_field=IntegerField())


def phase_index_on(dates: dict[str, date | None], today: date) -> int | None:
    """phase_by_dates for one migration in Python (its milestone dates by Milestone value), for the
    migration page, which has the migration in hand; tests hold the two to the same answers."""
    for index, start in reversed(list(enumerate(PHASE_STARTS))):
        on = dates.get(start.milestone.value)
        if on is not None and on <= today:
            return index
    return 0 if any(on is not None for on in dates.values()) else None


def checklist_lag(phase_index: int | None, checklist_key: str | None, checklist_title: str) -> tuple[int | None, str]:
    """How far the checklist is behind the phase by dates: (phases behind, what to say). The
    checklist's phase is its first with an open item (None: every item closed)."""
    if checklist_key is None:
        return 0, "Checklist complete"
    if phase_index is None or checklist_key not in PHASE_KEYS:
        return None, f"Open items from {checklist_title}"
    behind = phase_index - PHASE_KEYS.index(checklist_key)
    if behind <= 0:
        # Not "on track": beside a red RAG status (items overdue) that would read as a contradiction.
        return 0, "Checklist in step with the dates"
    return behind, f"Checklist {behind} phase{'s' if behind != 1 else ''} behind: open items from {checklist_title}"
