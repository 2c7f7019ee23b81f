from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from migrations_app.checklist_templates import guide_file, publishing


class Command(BaseCommand):
    help = "Load the guide's checklist as a published template version (no change if the content is the same)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", nargs="?", default=str(guide_file.GUIDE_FILE), help="Template data file (YAML).")

    def handle(self, *args, path: str, **options) -> None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror}") from error
        try:
            result = publishing.load(text)
        except ValidationError as error:
            raise CommandError("The template data has problems:\n  " + "\n  ".join(error.messages)) from error
        version = result.version
        count = version.items().count()
        if result.created:
            self.stdout.write(self.style.SUCCESS(f"Published {version} with {count} items."))
        else:
            self.stdout.write(f"Unchanged: {version} already has this content ({count} items).")
