"""WSGI entry point for any WSGI server: ``gunicorn core.wsgi:app`` (``sunbid serve`` does this for you)."""
import gc

from core.app import create_app

app = create_app()
# Everything loaded so far (Flask, SQLAlchemy, the catalogues, the models) lives as long as the process:
# moved out of the collector's reach, so the collections that requests trigger — a large upload read in
# small pieces makes many — do not walk it over and over.
gc.freeze()
