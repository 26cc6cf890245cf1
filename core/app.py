"""The application factory: the one place that imports every area."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, g, jsonify, render_template, request
from flask_babel import Babel, gettext
from flask_bootstrap import Bootstrap5
from flask_login import LoginManager
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from core import config as config_mod
from core.blobs import BlobStore
from core.clock import Clock
from core.db import make_engine, make_sessionmaker
from core.errors import DomainError

ROOT = Path(__file__).resolve().parent.parent


class Platform:
    """What the app holds for the services: settings, engine, session factory, clock, blobs."""

    def __init__(self, settings: config_mod.Settings, clock: Clock | None = None, bind: Any = None,
                 session_options: dict[str, Any] | None = None):
        self.settings = settings
        self.engine = make_engine(settings.database_url) if bind is None else None
        self.sessions = make_sessionmaker(bind if bind is not None else self.engine, **(session_options or {}))
        self.clock = clock or Clock()
        self.blobs = BlobStore(settings.data_dir)
        self._signer = None

    @property
    def signer(self):
        """The platform's Ed25519 signer (audit checkpoints, receipts), loaded or made on first use."""
        if self._signer is None:
            from audit.keys import load_or_create

            self._signer = load_or_create(self.settings.key_file, self.settings.log_origin)
        return self._signer


def create_app(config: config_mod.Settings | dict[str, Any] | None = None, *, clock: Clock | None = None,
               bind: Any = None, session_options: dict[str, Any] | None = None) -> Flask:
    if config is None:
        settings = config_mod.from_env()
    elif isinstance(config, dict):
        settings = config_mod.from_env({**_env_strings(), **config})
    else:
        settings = config
    settings.check()
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    app = Flask(__name__, template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"))
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.upload_limit_mb * 1024 * 1024 + 64 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        BOOTSTRAP_SERVE_LOCAL=True,
        BABEL_DEFAULT_LOCALE=settings.default_locale,
        BABEL_DEFAULT_TIMEZONE=settings.timezone,
        BABEL_TRANSLATION_DIRECTORIES=str(ROOT / "translations"),
        WTF_CSRF_TIME_LIMIT=None,
        TESTING=settings.testing,
        JSON_AS_ASCII=False,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["sunbid"] = Platform(settings, clock=clock, bind=bind, session_options=session_options)
    if settings.proxy_hops:  # the client's address and scheme as the trusted proxies saw them (the audit log keeps it)
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops,  # type: ignore[method-assign]
                                x_proto=settings.proxy_hops, x_host=settings.proxy_hops)

    from core import i18n, inputs, web

    inputs.init_app(app)  # the id converter and the text guard, before any route or other check
    Babel(app, locale_selector=i18n.select_locale, timezone_selector=lambda: settings.timezone)
    Bootstrap5(app)
    csrf = CSRFProtect(app)
    _login_manager(app)
    app.teardown_appcontext(web.close_db)
    i18n.register_filters(app)
    _error_handlers(app)

    from audit.api import bp as audit_api
    from audit.api import text_bp as audit_text
    from audit.views import bp as audit_views
    from core.api import bp as core_api
    from core.views import bp as core_views
    from tender.api import bp as tender_api
    from tender.views import bp as tender_views

    from audit.replay import Replayer
    from audit.replay import register as register_replayer
    from core.demo import register_seeder
    from tender import replay as tender_replay
    from tender import service as tender_service
    from tender.demo import seed as seed_tenders

    register_seeder("tenders", seed_tenders)
    register_replayer("tender", Replayer(tender_replay.fold, tender_service.snapshot, tender_replay.diff))

    for bp in (core_views, core_api, tender_views, tender_api, audit_api, audit_text, audit_views):
        app.register_blueprint(bp)
    for bp in (core_api, tender_api, audit_api):
        csrf.exempt(bp)  # the API authenticates by bearer token only, never by cookie (core.web.acting_user)
    from audit.openapi import PATHS as audit_paths
    from core.openapi import PATHS as core_paths
    from tender.openapi import PATHS as tender_paths

    app.extensions["sunbid_openapi"] = (core_paths, tender_paths, audit_paths)  # served by core.api.openapi

    from core.forms import ORG_KIND_LABELS, ROLE_LABELS

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {"sandbox": settings.sandbox, "accelerator": settings.accelerator,
                "current_locale": i18n.current_locale(), "locales": config_mod.LOCALES,
                "role_labels": ROLE_LABELS, "role_label": lambda r: ROLE_LABELS.get(r, r),
                "org_kind_label": lambda k: ORG_KIND_LABELS.get(k, k)}

    @app.after_request
    def _checkpoint(resp):
        # Side effect after the operation committed: sign a checkpoint when one is due (key act, count, time).
        # On the request's own session and connection: its transaction (the view's reads after it committed)
        # is ended first, so the checkpoint never waits on a lock its own request holds.  On SQLite it waits
        # at most a moment for another thread's write; when the lock is not free it is left for a later post.
        if request.method == "POST" and resp.status_code < 400:
            from audit.service import checkpoint_if_due
            from core.db import LOCK_WAIT_OPTION, is_lock_timeout, unit_of_work

            platform = app.extensions["sunbid"]
            own = g.get("db_session")
            s = own if own is not None else platform.sessions()
            try:
                if s.in_transaction():
                    s.rollback()  # the view's work is committed; what is left open only read
                if platform.engine is not None and platform.engine.dialect.name == "sqlite":
                    s.connection(execution_options={LOCK_WAIT_OPTION: 100})
                with unit_of_work(s):
                    checkpoint_if_due(s, signer=platform.signer, origin=settings.log_origin,
                                      now=platform.clock.now(), every_entries=settings.checkpoint_every,
                                      every_seconds=settings.checkpoint_seconds)
            except Exception as exc:  # never fail the request that already succeeded; the next one retries
                if is_lock_timeout(exc):
                    app.logger.info("checkpoint deferred: the database is busy")
                else:
                    app.logger.exception("checkpoint not issued")
            finally:
                if own is None:
                    s.close()
        return resp

    @app.after_request
    def _headers(resp):
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        return resp

    return app


def register_commands(group) -> None:
    """Every area's commands on the ``sunbid`` group (core imports areas only here)."""
    from audit.cli import audit_group
    from core.demo import demo_command
    from tender.cli import bid_group, receipt_group

    for command in (demo_command, audit_group, bid_group, receipt_group):
        group.add_command(command)


def _env_strings() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k.startswith("SUNBID_")}


def _login_manager(app: Flask) -> None:
    from core.models import User
    from core.service import user_for_token
    from core.web import db

    lm = LoginManager(app)
    lm.login_view = "core.login"
    lm.login_message = None  # type: ignore[assignment]
    # "basic" (Flask-Login's default): "strong" rewrites every anonymous session cookie on each request,
    # so parallel requests (a favicon, a second tab) could drop the CSRF token from the session.
    lm.session_protection = "basic"

    @lm.user_loader
    def _load(user_id: str):
        try:
            user = db().get(User, int(user_id))
        except ValueError:
            return None
        return user if user is not None and user.active else None

    @app.before_request
    def _api_token():
        auth = request.headers.get("Authorization", "")
        if request.path.startswith("/api/") and auth.startswith("Bearer "):
            user = user_for_token(db(), auth[7:].strip())
            if user is None:
                return jsonify(error={"code": "invalid_token", "message": gettext("Invalid or revoked API token.")}), 401
            g.api_user = user
        return None


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _error_handlers(app: Flask) -> None:
    from core import i18n

    @app.errorhandler(DomainError)
    def _domain(exc: DomainError):
        body = i18n.error_dict(exc)
        if _wants_json():
            return jsonify(error=body), exc.status
        return render_template("error.html", status=exc.status, message=body["message"]), exc.status

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):
        message = gettext("The form expired or was sent without its security token. Reload the page and try again.")
        if _wants_json():
            return jsonify(error={"code": "csrf", "message": message}), 400
        return render_template("error.html", status=400, message=message), 400

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        messages = {
            400: gettext("The request could not be understood."),
            401: gettext("Please log in."),
            403: gettext("You do not have permission to see this page."),
            404: gettext("The page or object was not found."),
            405: gettext("This method is not allowed here."),
            413: gettext("The upload is larger than the limit of %(mb)s MB.",  # this route's limit (bids have theirs)
                         mb=(request.max_content_length or 0) // (1024 * 1024)
                         or app.extensions["sunbid"].settings.upload_limit_mb),
            429: gettext("Too many attempts. Try again later."),
        }
        code = exc.code or 500
        message = messages.get(code, exc.description or "")
        if _wants_json():
            return jsonify(error={"code": exc.name.lower().replace(" ", "_"), "message": message}), code
        return render_template("error.html", status=code, message=message), code

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        app.logger.exception("unexpected error")
        message = gettext("Something went wrong on our side. The operation was not saved.")
        if _wants_json():
            return jsonify(error={"code": "internal_error", "message": message}), 500
        return render_template("error.html", status=500, message=message), 500
