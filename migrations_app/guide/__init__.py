"""The guide's checklist as versioned data (practice-migration.yaml) and its loader."""
