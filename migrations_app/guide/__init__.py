"""The guide's checklist as versioned data (practice-migration.yaml); its format and loader are in
migrations_app/checklist_templates/."""
