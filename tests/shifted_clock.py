"""`celery` with the clock shifted by SHIFT_CLOCK_SECONDS, still ticking:

    SHIFT_CLOCK_SECONDS=-3600 python -m tests.shifted_clock -A config worker

The end-to-end tests and the fault scripts run a real worker and beat at 07:00 on a working day
in London whatever the real date, so the day's digests are due. time-machine moves the wall clock
(time.time, datetime.now) of this process and of the pool processes it forks; time.monotonic, which
Celery and the Redis client use for timeouts, runs on unchanged.
"""

import os
import sys
import time

import time_machine

time_machine.travel(time.time() + float(os.environ.get("SHIFT_CLOCK_SECONDS", "0")), tick=True).start()

from celery.__main__ import main  # noqa: E402 (after the clock is moved)

if __name__ == "__main__":
    sys.argv[0] = "celery"
    sys.exit(main())
