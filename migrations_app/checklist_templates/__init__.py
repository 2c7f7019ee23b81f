"""Checklist templates: versions, publishing, the guide file format, diffs, upgrades and their admin.
See README.md here."""
