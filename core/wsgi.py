"""WSGI entry point for any WSGI server: ``gunicorn core.wsgi:app`` (``sunbid serve`` does this for you)."""
from core.app import create_app

app = create_app()
