"""The Django admin for checklist templates: versions, phases and items."""
