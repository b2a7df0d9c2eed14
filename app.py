"""WSGI entry point: ``gunicorn app:app`` or ``flask --app app …``."""

import gc

from loyalty import create_app

app = create_app()
# What the app is built from (modules, mappers, schemas: about 150,000 objects) lives
# as long as the process. In the permanent generation, a full collection no longer walks all of it:
# under bench/http_load.py on two cores, that walk paused a worker for 150-220 ms; now under 7 ms.
gc.freeze()
