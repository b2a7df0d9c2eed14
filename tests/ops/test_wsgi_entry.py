"""The WSGI entry point keeps what the app is built from out of the collector's full walks."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_objects_the_app_is_built_from_are_frozen_once_it_is_built(tmp_path):
    env = {**os.environ, "LOYALTY_ENV": "production", "SECRET_KEY": "entry-test-secret",
           "DATABASE_URL": f"sqlite:///{tmp_path}/entry.db", "PYTHONPATH": str(ROOT)}
    printed = subprocess.run(
        [sys.executable, "-c", "import gc, app; print(gc.get_freeze_count(), len(gc.get_objects()))"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout.split()
    frozen, still_walked = int(printed[0]), int(printed[1])
    assert frozen > 50_000  # modules, mappers, schemas: a full collection would walk them all
    assert still_walked < frozen / 20
