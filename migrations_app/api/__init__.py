"""The REST API under /api/: the migrations a person can see, as the dashboard lists them (its README)."""
