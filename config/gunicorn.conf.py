"""gunicorn settings for the web process: the image, compose.yaml and bench/load.py all use this file.

Threaded workers: a request waiting on the CPU (a password being hashed at sign-in) or on the
database holds a thread, not a whole process, so a tick arriving meanwhile is served at once. On the
2-core development machine, 50 people signing in within 5 s raised the p95 of a tick to 370 ms with
3 single-threaded workers, and left it at 84 ms with 3 workers of 4 threads (bench/load.py).

Each thread keeps its own database connection (DATABASE_CONN_MAX_AGE), so a web container opens up
to WEB_CONCURRENCY x WEB_THREADS connections to PostgreSQL.
"""

import os

bind = os.environ.get("WEB_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
accesslog = "-"
