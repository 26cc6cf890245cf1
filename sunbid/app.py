"""The application factory: builds one app from a list of areas (``sunbid.areas.AREAS`` by default).

Everything an area declares (``core.area.Area``) is read here and kept on the app it makes — blueprints,
CSRF exemptions, audit actions, key acts, replay handlers, OpenAPI paths, navigation, desk panels — after
the areas were checked against each other (``core.area.check_areas``, ``check_urls``)."""
from __future__ import annotations

from pathlib import Path
from collections.abc import Sequence
from typing import Any

from flask import Flask, g, jsonify, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_babel import Babel, gettext
from flask_bootstrap import Bootstrap5
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from core import config as config_mod
from core.area import Area, DeskPanel, NavEntry, check_areas, check_urls
from core.blobs import BlobStore
from core.clock import Clock
from core.db import make_engine, make_sessionmaker

ROOT = Path(__file__).resolve().parent.parent
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
"""No inline script or style, nothing from elsewhere, never framed."""
HSTS = "max-age=31536000"


class SunbidFlask(Flask):
    """Flask whose absolute URLs (``url_for(..., _external=True)``: API links, the Atom feed, the tus
    ``Location``) start with the configured ``SUNBID_BASE_URL``, never with the request's Host header, which
    the client writes.  Without a base URL they are root-relative."""

    def url_for(self, endpoint: str, *, _anchor: str | None = None, _method: str | None = None,
                _scheme: str | None = None, _external: bool | None = None, **values: Any) -> str:
        from flask.globals import _cv_request

        if _cv_request.get(None) is None:  # outside a request (CLI): Flask's own rules (SERVER_NAME)
            return super().url_for(endpoint, _anchor=_anchor, _method=_method, _scheme=_scheme,
                                   _external=_external, **values)
        path = super().url_for(endpoint, _anchor=_anchor, _method=_method, _external=False, **values)
        if not _external:
            return path
        return self.extensions["sunbid"].settings.base_url + path


class _SessionInterface(SecureCookieSessionInterface):
    """The session cookie is Secure whenever the request came over TLS (directly, through a trusted proxy's
    X-Forwarded-Proto, or an https SUNBID_BASE_URL), HttpOnly and SameSite=Lax always."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(super().get_cookie_secure(app) or request.is_secure)


class Platform:
    """What the app holds for the services: settings, engine, session factory, clock, blobs."""

    def __init__(self, settings: config_mod.Settings, clock: Clock | None = None, bind: Any = None,
                 session_options: dict[str, Any] | None = None, areas: Sequence[Area] = ()):
        self.settings = settings
        self.engine = make_engine(settings.database_url) if bind is None else None
        self.clock = clock or Clock()
        self.blobs = BlobStore(settings.data_dir)
        self.bad_token_limit: Any = None  # (Flask-Limiter, limits) for bad bearer tokens, set by create_app
        self._signer = None
        from audit.disclosure import Actions
        from audit.labels import Labels

        self.areas: tuple[Area, ...] = tuple(areas)
        self.labels = Labels()  # what the audit screens call each area's actions, objects, roles and fields
        self.audit_actions = Actions()  # each area's actions (disclosure rules, key acts) and replay handlers
        for area in self.areas:
            self.audit_actions.register(*area.actions)
            self.audit_actions.claim_subject_kinds(*area.subject_kinds)
            if area.subjects is not None:
                self.audit_actions.resolve_subjects(area.subjects)
            for key, replayer in area.replayers.items():
                self.audit_actions.add_replayer(key, replayer)
        from audit.service import SUBJECT_KINDS

        options = dict(session_options or {})  # its sessions' audit entries name only the kinds its areas claim
        options["info"] = {**options.get("info", {}), SUBJECT_KINDS: self.audit_actions.subject_kinds}
        self.sessions = make_sessionmaker(bind if bind is not None else self.engine, **options)
        self.nav: tuple[NavEntry, ...] = tuple(sorted((e for a in self.areas for e in a.nav),
                                                      key=lambda e: e.position))
        self.desk: tuple[DeskPanel, ...] = tuple(sorted((p for a in self.areas for p in a.desk),
                                                        key=lambda p: p.position))

    @property
    def signer(self):
        """The platform's Ed25519 signer (audit checkpoints, receipts), loaded or made on first use."""
        if self._signer is None:
            from audit.keys import load_or_create

            self._signer = load_or_create(self.settings.key_file, self.settings.log_origin)
        return self._signer


def create_app(config: config_mod.Settings | dict[str, Any] | None = None, *, clock: Clock | None = None,
               bind: Any = None, session_options: dict[str, Any] | None = None,
               areas: Sequence[Area] | None = None) -> Flask:
    if areas is None:
        from sunbid.areas import AREAS

        areas = AREAS
    import importlib

    for area in areas:  # the models first: the checks read their tables, the collector their columns
        if area.models is not None:
            importlib.import_module(area.models)
    check_areas(areas)
    if config is None:
        settings = config_mod.from_env()
    elif isinstance(config, dict):
        settings = config_mod.from_env({**_env_strings(), **config})
    else:
        settings = config
    settings.check()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = SunbidFlask(__name__, template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"))
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.upload_limit_mb * 1024 * 1024 + 64 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.behind_tls,
        BOOTSTRAP_SERVE_LOCAL=True,
        BABEL_DEFAULT_LOCALE=settings.default_locale,
        BABEL_DEFAULT_TIMEZONE=settings.timezone,
        BABEL_TRANSLATION_DIRECTORIES=str(ROOT / "translations"),
        WTF_CSRF_TIME_LIMIT=None,
        TESTING=settings.testing,
        JSON_AS_ASCII=False,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.session_interface = _SessionInterface()
    app.extensions["sunbid"] = Platform(settings, clock=clock, bind=bind, session_options=session_options,
                                        areas=areas)
    for area in areas:
        if area.setup is not None:
            area.setup(app)
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

    for area in areas:
        if area.labels is not None:
            area.labels(app.extensions["sunbid"].labels)
        for bp in area.blueprints:
            app.register_blueprint(bp)
        for bp in area.api_blueprints:
            csrf.exempt(bp)  # the API authenticates by bearer token only, never by cookie (core.web.acting_user)
    check_urls(app, areas)
    _rate_limits(app, settings)
    app.extensions["sunbid_openapi"] = tuple(area.openapi for area in areas if area.openapi)  # accounts.api.openapi

    from accounts.forms import ORG_KIND_LABELS, ROLE_LABELS

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {"sandbox": settings.sandbox, "accelerator": settings.accelerator,
                "current_locale": i18n.current_locale(), "locales": config_mod.LOCALES,
                "role_labels": ROLE_LABELS, "role_label": lambda r: ROLE_LABELS.get(r, r),
                "org_kind_label": lambda k: ORG_KIND_LABELS.get(k, k), "nav_entries": _nav_entries}

    @app.after_request
    def _checkpoint(resp):
        # After a request that recorded a key act (a public milestone) and committed: sign a checkpoint.
        # Scheduled checkpoints are signed when the checkpoints are read (and by `sunbid audit checkpoint`),
        # never after a write, so that no checkpoint's time is the time of some other kind of act.
        # On the request's own session and connection: its transaction (the view's reads after it committed)
        # is ended first, so the checkpoint never waits on a lock its own request holds.  On SQLite it waits
        # at most a moment for another thread's write; when the lock is not free it is left for a later act.
        from audit.service import RECORDED

        own = g.get("db_session")
        key_act = own is not None and bool(own.info.pop(RECORDED, set()) & app.extensions["sunbid"].audit_actions.key_actions)
        if key_act and resp.status_code < 400:
            from audit.service import checkpoint_if_due
            from core.db import LOCK_WAIT_OPTION, is_lock_timeout, unit_of_work

            platform = app.extensions["sunbid"]
            s = own
            try:
                if s.in_transaction():
                    s.rollback()  # the view's work is committed; what is left open only read
                if platform.engine is not None and platform.engine.dialect.name == "sqlite":
                    s.connection(execution_options={LOCK_WAIT_OPTION: 100})
                with unit_of_work(s):
                    checkpoint_if_due(s, signer=platform.signer, origin=settings.log_origin,
                                      now=platform.clock.now(), every_entries=settings.checkpoint_every,
                                      every_seconds=settings.checkpoint_seconds, milestones_only=True,
                                      key_actions=platform.audit_actions.key_actions)
            except Exception as exc:  # never fail the request that already succeeded; the next one retries
                if is_lock_timeout(exc):
                    app.logger.info("checkpoint deferred: the database is busy")
                else:
                    app.logger.exception("checkpoint not issued")
        return resp

    @app.after_request
    def _headers(resp):
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        resp.headers.setdefault("Content-Security-Policy", CSP)
        if request.is_secure or settings.behind_tls:
            resp.headers.setdefault("Strict-Transport-Security", HSTS)
        # What one signed-in user (or token holder) sees is theirs alone: no browser or proxy keeps a copy.
        if g.get("api_user") is not None or (not request.path.startswith("/api/") and "_user_id" in session):
            resp.headers["Cache-Control"] = "no-store"
        return resp

    return app


def _nav_entries(role: str | None) -> list[NavEntry]:
    """The navigation of every area for a reader of ``role`` (None: not signed in), in position order."""
    from flask import current_app

    return [e for e in current_app.extensions["sunbid"].nav if e.shown_to(role)]


def _env_strings() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k.startswith("SUNBID_")}


def _rate_limits(app: Flask, settings: config_mod.Settings) -> None:
    """Per-address limits (Flask-Limiter) on signing in, making API tokens and presenting bad ones; counted
    in ``SUNBID_RATELIMIT_STORAGE_URI`` (in memory by default: per process; share a store between workers)."""
    from flask_limiter import Limiter
    from limits import parse_many

    from core.web import client_address

    limiter = Limiter(client_address, app=app, storage_uri=settings.ratelimit_storage_uri, headers_enabled=True,
                      strategy="moving-window", default_limits=[], key_prefix="sunbid")
    rate = settings.login_rate_limit
    for endpoint in ("core.login", "core_api.create_token"):
        if endpoint in app.view_functions:
            app.view_functions[endpoint] = limiter.limit(rate, methods=["POST"], scope="sign-in")(
                app.view_functions[endpoint])
    app.view_functions["core.account"] = limiter.limit(rate, methods=["POST"], scope="account")(
        app.view_functions["core.account"])
    app.extensions["sunbid"].bad_token_limit = (limiter, parse_many(rate))


def _login_manager(app: Flask) -> None:
    from accounts.service import token_for, user_for_session
    from core.web import client_address, db

    lm = LoginManager(app)
    lm.login_view = "core.login"
    lm.login_message = None  # type: ignore[assignment]
    # "basic" (Flask-Login's default): "strong" rewrites every anonymous session cookie on each request,
    # so parallel requests (a favicon, a second tab) could drop the CSRF token from the session.
    lm.session_protection = "basic"

    @lm.user_loader
    def _load(user_id: str):
        # The cookie names a server-side session (accounts.models.LoginSession): ended by logging out, a password
        # change or deactivation, after which the same cookie signs no one in.
        try:
            uid = int(user_id)
        except ValueError:
            return None
        key = session.get("_sid")
        return user_for_session(db(), user_id=uid, key=key if isinstance(key, str) else None)

    @app.before_request
    def _api_token():
        auth = request.headers.get("Authorization", "")
        if request.path.startswith("/api/") and auth.startswith("Bearer "):
            limiter, limits = app.extensions["sunbid"].bad_token_limit
            where = client_address()
            if not all(limiter.limiter.test(item, "bad-token", where) for item in limits):
                return jsonify(error={"code": "too_many_requests", "message": gettext(
                    "Too many requests from your address. Wait a minute and try again.")}), 429
            token = token_for(db(), auth[7:].strip(), now=app.extensions["sunbid"].clock.now())
            if token is None:
                for item in limits:
                    limiter.limiter.hit(item, "bad-token", where)
                return jsonify(error={"code": "invalid_token",
                                      "message": gettext("Invalid, expired or revoked API token.")}), 401
            if db().dirty:  # its last-use time, written at most once a minute
                db().commit()
            g.api_user, g.api_token = token.user, token
        return None


def _error_handlers(app: Flask) -> None:
    from core.web import register_error_handlers

    register_error_handlers(app)
