"""Who may do what: the one place the access rules live (a package; its README says which module
holds which rule). Everything the rest of the app uses is imported from here: `access.get_item`,
`access.Relations`, `from migrations_app.access import Permission`.

Two sources of rights, and nothing else (`is_staff` only opens the Django admin):

- **Memberships.** A person relates to a practice through a membership of the practice itself, of
  its delivery partner or of its ICB, with one role (`Relations`). What each role may do to that
  practice's migrations is `GRANTS`; a role in `OWN_ITEMS_ONLY` (the ICB lead) works only on the
  items that are its own, and a gate is signed by the role the guide data names as its signer.
- **Permissions** (Django's, through groups; see migration 0010): *read every migration* is the view
  permission on practice migrations (national viewers, NHS England); *act on every migration* is
  the change permission (support admins, and superusers). A template editor has neither, so sees
  no migration at all.

Reading goes through `visible_migrations(user)`: a migration a person cannot read is a 404, so we
never reveal that it exists. Writing needs a permission their roles (or their standing) grant on
that migration; without it the answer is 403. A finished migration (completed or cancelled) is
read-only for everyone: `Access` knows the migration's status and grants nothing on it. Reminders,
digests, the calendar feed and sign-off requests ask this package who relates to what, and never
restate it.
"""

from migrations_app.access.check_ins import (
    GIVES_CHECK_IN,
    check_in_memberships,
    check_in_sides,
    get_migration_to_check_in,
    get_partner_to_set_check_in_day,
    gives_check_in,
    partners_to_set_check_in_day,
)
from migrations_app.access.migration_rules import (
    EDITOR,
    GRANTS,
    OWN_ITEMS_ONLY,
    Access,
    Permission,
    access_to,
    get_gate_to_sign,
    get_item,
    get_item_to_change,
    get_item_to_reopen,
    get_item_to_work_on,
    get_migration,
    owner_memberships,
    refusal,
    responsible_name,
    signers_of,
    visibility_key,
    visible_migrations,
)
from migrations_app.access.people import (
    INVITES,
    Organisation,
    get_people_of,
    get_practice_invitation,
    get_practice_member,
    get_practice_member_to_change,
    get_team_invitation,
    get_team_member,
    may_remove,
    roles_in,
    roles_to_invite,
    teams_of,
)
from migrations_app.access.relations import (
    MEMBERSHIP_COLUMNS,
    Relations,
    memberships_at,
    memberships_responsible_for,
    partner_memberships_over,
    practices_of,
)
from migrations_app.access.retrospectives import (
    get_migration_to_look_back_on,
    may_read_lessons,
    retrospective_side,
    visible_retrospectives,
)
from migrations_app.access.standing import (
    ACT_ON_EVERY_MIGRATION,
    READ_EVERY_MIGRATION,
    Standing,
    forget_standing,
    gets_reminders,
    has_a_team,
    has_two_factor_device,
    lands_on_dashboard,
    may_use_the_api,
    standing_of,
    two_factor_required,
)
from migrations_app.access.starting import (
    Starter,
    get_import,
    may_start_migrations,
    project_manager_memberships,
    project_managers,
    starter,
)

__all__ = [
    "ACT_ON_EVERY_MIGRATION",
    "EDITOR",
    "GIVES_CHECK_IN",
    "GRANTS",
    "INVITES",
    "MEMBERSHIP_COLUMNS",
    "OWN_ITEMS_ONLY",
    "READ_EVERY_MIGRATION",
    "Access",
    "Organisation",
    "Permission",
    "Relations",
    "Standing",
    "Starter",
    "access_to",
    "check_in_memberships",
    "check_in_sides",
    "get_gate_to_sign",
    "get_import",
    "get_item",
    "get_item_to_change",
    "get_item_to_reopen",
    "get_item_to_work_on",
    "get_migration",
    "get_migration_to_check_in",
    "get_partner_to_set_check_in_day",
    "get_migration_to_look_back_on",
    "get_people_of",
    "get_practice_invitation",
    "get_practice_member",
    "get_practice_member_to_change",
    "get_team_invitation",
    "get_team_member",
    "gets_reminders",
    "gives_check_in",
    "has_a_team",
    "has_two_factor_device",
    "lands_on_dashboard",
    "may_read_lessons",
    "may_remove",
    "may_start_migrations",
    "may_use_the_api",
    "memberships_at",
    "memberships_responsible_for",
    "owner_memberships",
    "partners_to_set_check_in_day",
    "partner_memberships_over",
    "practices_of",
    "project_manager_memberships",
    "project_managers",
    "refusal",
    "responsible_name",
    "retrospective_side",
    "roles_in",
    "roles_to_invite",
    "signers_of",
    "forget_standing",
    "standing_of",
    "starter",
    "teams_of",
    "two_factor_required",
    "visibility_key",
    "visible_migrations",
    "visible_retrospectives",
]
