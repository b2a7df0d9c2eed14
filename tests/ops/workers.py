"""``make run``'s own gunicorn command on a free port, and what each of its workers counted.

The command is read from ``make -n run``, so the tests serve with exactly the Makefile's
settings (its gunicorn config, its log flags), its standard output and error in one file.
"""

import os
import shlex
import shutil
import socket
import subprocess
from contextlib import contextmanager
from pathlib import Path

from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from tests.concurrency.servers import GUNICORN, ROOT, _wait_healthy

#: Settings the tests' own environment must not hand to the server unless a test says so.
UNSET = ("PROMETHEUS_MULTIPROC_DIR", "RATELIMIT_STORAGE_URI", "GUNICORN_CMD_ARGS")


def make_run_command(workers: int, port: int) -> list[str]:
    printed = subprocess.run(["make", "-n", "run", f"WORKERS={workers}", "HOST=127.0.0.1", f"PORT={port}"],
                             cwd=ROOT, capture_output=True, text=True, check=True).stdout
    [line] = [line for line in printed.splitlines() if "/gunicorn " in line]
    return [str(GUNICORN), *shlex.split(line)[1:]]


@contextmanager
def make_run(database_url: str, log: Path, workers: int = 3, **settings: str):
    """The server ``make run`` starts, on ``database_url``; yields its base URL."""
    env = {key: value for key, value in os.environ.items() if key not in UNSET}
    env.update({"LOYALTY_ENV": "production", "SECRET_KEY": "workers-test-secret", "DATABASE_URL": database_url,
                "PYTHONPATH": str(ROOT), **settings})
    # Bound here and inherited, so no other test process can take the port in between.
    with socket.create_server(("127.0.0.1", 0)) as listener, open(log, "w+b") as output:
        port = listener.getsockname()[1]
        command = [f"fd://{listener.fileno()}" if arg == f"127.0.0.1:{port}" else arg
                   for arg in make_run_command(workers, port)]
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output,
                                   pass_fds=[listener.fileno()])
        listener.close()
        try:
            _wait_healthy(f"http://127.0.0.1:{port}", process, output)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def requests_per_worker(folder: Path, endpoint: str, scratch: Path) -> list[float]:
    """Requests to ``endpoint`` each worker answered, from its own file in the metrics folder."""
    counts = []
    for index, counter_file in enumerate(sorted(folder.glob("counter_*.db"))):
        alone = scratch / f"worker-{index}"
        alone.mkdir(parents=True, exist_ok=True)
        shutil.copy(counter_file, alone / counter_file.name)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(alone))
        counts.append(sum(sample.value for family in registry.collect() for sample in family.samples
                          if sample.name == "loyalty_http_requests_total"
                          and sample.labels.get("endpoint") == endpoint))
        shutil.rmtree(alone)
    return [count for count in counts if count]
