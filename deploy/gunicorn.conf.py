"""gunicorn settings: ``gunicorn -c deploy/gunicorn.conf.py app:app`` (``make run`` uses them too).

Every value can be overridden on the command line or with GUNICORN_CMD_ARGS.
"""

import multiprocessing
import os
import shutil
import tempfile
from pathlib import Path

bind = os.environ.get("BIND", "0.0.0.0:8000")
# Requests wait on the database, not the CPU: a few sync workers per core.
workers = int(os.environ.get("WORKERS", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
timeout = 30  # a request that takes longer is killed: its transaction rolls back whole
graceful_timeout = 30  # on SIGTERM/SIGHUP, let requests in flight finish
keepalive = 5  # behind a load balancer that reuses connections
max_requests = 2000  # recycle workers now and then...
max_requests_jitter = 200  # ...but not all at once
# The app writes one JSON line per request (with its request id) to stderr: no access log besides.
accesslog = None
errorlog = "-"
loglevel = "warning"
# The load balancer's address: trust its X-Forwarded-Proto (set PROXY_FIX_X_FOR=1 for the client address).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

METRICS_DIR = "PROMETHEUS_MULTIPROC_DIR"
MADE_METRICS_DIR = "LOYALTY_TEMPORARY_METRICS_DIR"  # in the environment: a reload forgets module state


def on_starting(server):
    """Every worker writes its metrics into one folder that /metrics adds up, emptied at each start
    (counts of a previous server would be added in). PROMETHEUS_MULTIPROC_DIR names it; unset, a
    temporary folder is made here and removed when the server stops. Set before any worker imports
    prometheus_client, which picks its storage at import."""
    folder = os.environ.get(METRICS_DIR)
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        for stale in Path(folder).glob("*.db"):
            stale.unlink()
    else:
        folder = tempfile.mkdtemp(prefix="loyalty-metrics-")
        os.environ[METRICS_DIR] = os.environ[MADE_METRICS_DIR] = folder


def child_exit(server, worker):
    """A dead worker's live gauges go (its counters and histograms stay in the sums)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    folder = os.environ.get(MADE_METRICS_DIR)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
