"""The WSGI entry point kept at its old name: ``gunicorn core.wsgi:app`` is ``sunbid.wsgi:app``."""
from sunbid.wsgi import app  # noqa: F401
