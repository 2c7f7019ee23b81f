"""gunicorn settings for the web process: the image, compose.yaml and bench/load.py all use this file.

Threaded workers: a request waiting on the CPU (a password being hashed at sign-in) or on the
database holds a thread, not a whole process, so a tick arriving meanwhile is served at once. On the
2-core development machine, 50 people signing in within 5 s raised the p95 of a tick to 370 ms with
3 single-threaded workers, and left it at 84 ms with 3 workers of 4 threads (bench/load.py).

Each thread keeps its own database connection (DATABASE_CONN_MAX_AGE), so a web container opens up
to WEB_CONCURRENCY x WEB_THREADS connections to PostgreSQL.
"""

import gc
import os

bind = os.environ.get("WEB_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
accesslog = "-"


# Python's cyclic garbage collector walks every object it tracks when it runs a full collection,
# and a worker holds some 290,000 that live as long as it does (Django, the models, the URL
# patterns, the compiled templates and statements). So each worker moves what it holds once warmed
# up out of the collector's reach (gc.freeze: those objects are still freed when no longer used, by
# their reference counts), after collecting any garbage: once the app is loaded, and again after its
# first requests, which load the URL patterns, templates and statements. What requests make
# afterwards is collected as usual. bench/gc_share.py measures it: the delivery partner's dashboard,
# which makes the most objects, spends half as long in the collector (6 % of its CPU to 3 %); a
# page or a tick, 5-6 % either way, their full collections being rare once a worker is warm.
FREEZE_AFTER_REQUESTS = (1, 50)


def _freeze() -> None:
    gc.collect()
    gc.freeze()


def post_worker_init(worker) -> None:
    worker.requests_answered = 0
    _freeze()


def post_request(worker, req, environ, resp) -> None:
    worker.requests_answered = getattr(worker, "requests_answered", 0) + 1
    if worker.requests_answered in FREEZE_AFTER_REQUESTS:
        _freeze()
