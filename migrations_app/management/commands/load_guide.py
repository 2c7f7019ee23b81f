from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from migrations_app.checklist_templates import guide_file, publishing


class Command(BaseCommand):
    help = (
        "Publish the guide's checklist: each edition of the guide file in turn (or the one FILE given) "
        "as the template's next version, unless a published version already has its content."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "path", nargs="?", help="One template data file (YAML). Default: every edition of the guide, oldest first."
        )

    def handle(self, *args, path: str | None, **options) -> None:
        for each in [Path(path)] if path else guide_file.editions():
            self._load(each)

    def _load(self, path: Path) -> None:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror}") from error
        try:
            result = publishing.load(text)
        except ValidationError as error:
            raise CommandError(
                f"The template data in {path.name} has problems:\n  " + "\n  ".join(error.messages)
            ) from error
        version = result.version
        count = version.items().count()
        if result.created:
            self.stdout.write(self.style.SUCCESS(f"Published {version} with {count} items."))
        else:
            self.stdout.write(f"Unchanged: {version} already has this content ({count} items).")
