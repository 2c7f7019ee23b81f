"""Publishing: the one way a draft becomes its template's next version.

`publish` checks the draft by the guide file's rules, fingerprints its content, then freezes it
(TemplateVersion.publish takes the lock and the next number). `load` publishes a guide file unless
a published version already has its content: load_guide runs it on every deploy.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from migrations_app.checklist_templates import guide_file
from migrations_app.models import ChecklistTemplate, TemplateVersion


@dataclass(frozen=True)
class LoadResult:
    version: TemplateVersion
    created: bool


def publish(
    version: TemplateVersion, change_note: str, *, seen_revision: int | None = None, source: dict | None = None
) -> None:
    """Publish a draft after checking it by the guide file's rules, with the fingerprint of its
    content so that loading the same content later changes nothing. The content is `source`, the
    file data the draft was just made from (`load`), or else the draft as edited in the admin. With
    `seen_revision`, refuse (DraftConflictError) if the draft was edited since it was reviewed."""
    data = guide_file.export(version) if source is None else source
    found = guide_file.problems(data)
    if found:
        raise ValidationError(found)
    version.source_digest = guide_file.digest(data)
    version.freeze(change_note, seen_revision=seen_revision)


@transaction.atomic
def load(text: str) -> LoadResult:
    """Publish `text` as the template's next version unless a published version already has the
    same content. Any version, not only the latest: deploys run load_guide, and a file published
    before must not undo the versions admins published since."""
    data = guide_file.parse(text)
    template = ChecklistTemplate.objects.select_for_update().filter(slug=data["template"]).first()
    if template is not None:
        same = template.versions.published().filter(source_digest=guide_file.digest(data)).order_by("-number").first()
        if same is not None:
            return LoadResult(same, created=False)
    version = guide_file.create_draft(data)
    publish(version, data.get("change_note") or "", source=data)
    return LoadResult(version, created=True)
