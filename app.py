"""WSGI entry point: ``gunicorn app:app`` or ``flask --app app …``."""

from loyalty import create_app

app = create_app()
