"""Reminders: digests of what is due, sign-off requests, the claim-then-send e-mails that carry
them, and a person's calendar feed. See README.md: what each module owns, and the entry points."""
