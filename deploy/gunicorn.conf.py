"""gunicorn settings for production: ``gunicorn -c deploy/gunicorn.conf.py app:app``.

Every value can be overridden on the command line or with GUNICORN_CMD_ARGS.
"""

import multiprocessing
import os

bind = os.environ.get("BIND", "0.0.0.0:8000")
# Requests wait on the database, not the CPU: a few sync workers per core.
workers = int(os.environ.get("WORKERS", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
timeout = 30  # a request that takes longer is killed: its transaction rolls back whole
graceful_timeout = 30  # on SIGTERM/SIGHUP, let requests in flight finish
keepalive = 5  # behind a load balancer that reuses connections
max_requests = 2000  # recycle workers now and then...
max_requests_jitter = 200  # ...but not all at once
# The app writes one JSON line per request (with its request id) to stderr.
accesslog = None
errorlog = "-"
loglevel = "warning"
# The load balancer's address: trust its X-Forwarded-Proto (set PROXY_FIX_X_FOR=1 for the client address).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def child_exit(server, worker):
    """With PROMETHEUS_MULTIPROC_DIR set, forget a dead worker's live gauges (its counters stay summed)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
