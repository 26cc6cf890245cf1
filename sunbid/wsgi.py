"""WSGI entry point for any WSGI server: ``gunicorn core.wsgi:app`` (``sunbid serve`` does this for you)."""
import gc

from sunbid.app import create_app
from core.config import from_env

settings = from_env()
settings.check_production()  # a production entry point: no development secret, no key that is not random
app = create_app(settings)
# Everything loaded so far (Flask, SQLAlchemy, the catalogues, the models) lives as long as the process:
# moved out of the collector's reach, so the collections that requests trigger — a large upload read in
# small pieces makes many — do not walk it over and over.
gc.freeze()
