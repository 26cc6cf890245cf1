"""Settings from ``SUNBID_*`` environment variables, with safe development defaults.

| variable | default | meaning |
|---|---|---|
| SUNBID_DATABASE_URL | sqlite:///<data dir>/sunbid.db | SQLAlchemy URL (PostgreSQL: postgresql+psycopg://…) |
| SUNBID_SECRET_KEY | development value | session/CSRF signing key: random, 32+ characters; `serve` and `core.wsgi` refuse the development value, and every start refuses a set key that is short or not random |
| SUNBID_TIMEZONE | Asia/Shanghai | platform time zone for display and date input |
| SUNBID_UPLOAD_LIMIT_MB | 50 | largest accepted upload (tender documents) |
| SUNBID_BID_LIMIT_MB | 1024 | largest accepted sealed bid |
| SUNBID_BIDDER_QUOTA_MB | 4096 | bytes of bids one bidder may store per tender: bids received (superseded and withdrawn ones too) and uploads in progress |
| SUNBID_TENDER_QUOTA_MB | 51200 | bytes of bids one tender may hold from all bidders together |
| SUNBID_UPLOAD_IDLE_MINUTES | 15 | a resumable upload no byte reached for this long is abandoned and its bytes deleted (tus Upload-Expires) |
| SUNBID_DATA_DIR | ./instance | blob store and embedded database |
| SUNBID_SANDBOX | 0 | sandbox mode: legal periods divided by SUNBID_SANDBOX_FACTOR |
| SUNBID_SANDBOX_FACTOR | 1440 | accelerator in sandbox mode (1440: a day lasts a minute) |
| SUNBID_DEFAULT_LOCALE | zh_CN | language when the visitor has chosen none |
| SUNBID_LOG_ORIGIN | sunbid.localhost/audit | the audit log's name in its signed checkpoints (C2SP origin) |
| SUNBID_PLATFORM_KEY_FILE | <data dir>/keys/platform.skey | the platform's Ed25519 signing key (made on first use) |
| SUNBID_CHECKPOINT_EVERY | 256 | a checkpoint at least every this many entries … |
| SUNBID_CHECKPOINT_SECONDS | 300 | … or this many seconds, and at every key act |
| SUNBID_PROXY_HOPS | 0 | reverse proxies in front whose X-Forwarded-For/-Proto/-Host headers are trusted |
| SUNBID_WITNESSES | (none) | witnesses the log pushes its checkpoints to (c2sp.org/tlog-witness): `URL VKEY` per witness, separated by `;` or newlines |
| SUNBID_BASE_URL | (none) | the platform's public origin, e.g. https://trade.example.gov.cn: absolute links (API, Atom feed, tus Location) are made from it, never from the request's Host; unset, links are root-relative |
| SUNBID_RATELIMIT_STORAGE_URI | memory:// | where per-address request limits are counted (Flask-Limiter); with several workers or servers use a shared store, e.g. redis://127.0.0.1:6379 |
| SUNBID_LOGIN_RATE_LIMIT | 30 per minute;300 per hour | sign-in attempts (and API token creation, bad tokens) one address may make |
"""
from __future__ import annotations

import math
import os
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

DEV_SECRET = "sunbid-development-secret-do-not-use-in-production"
LOCALES = ("zh_CN", "en")
SECRET_MIN_LENGTH = 32
SECRET_MIN_DISTINCT = 10
SECRET_MIN_BITS = 88.0
"""A secret key must have 32+ characters, 10+ distinct ones, 88+ bits by its own character counts (the Shannon
entropy of its characters times its length) and no run of 8 characters twice: what ``secrets.token_urlsafe``
or ``token_hex`` of 16 bytes or more gives, and what repeated characters or words do not."""


def secret_key_problem(key: str) -> str | None:
    """Why ``key`` is not fit to sign sessions (None: it is).  Keys of 32 spaces or zeros, a word repeated,
    the development value: refused."""
    if key == DEV_SECRET:
        return "it is the development value"
    if len(key) < SECRET_MIN_LENGTH:
        return f"it has fewer than {SECRET_MIN_LENGTH} characters"
    counts = Counter(key)
    if len(counts) < SECRET_MIN_DISTINCT:
        return f"it has fewer than {SECRET_MIN_DISTINCT} different characters"
    bits = -sum(c * math.log2(c / len(key)) for c in counts.values())
    if bits < SECRET_MIN_BITS:
        return "it is not random enough"
    runs = [key[i:i + 8] for i in range(len(key) - 7)]
    if len(set(runs)) < len(runs):
        return "it repeats itself"
    return None


def _origin(url: str) -> str:
    """``SUNBID_BASE_URL`` checked and normalised: an http(s) origin, no path, query or fragment."""
    from urllib.parse import urlsplit

    url = (url or "").strip().rstrip("/")
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query or parts.fragment \
            or parts.username or parts.password:
        raise ConfigError("SUNBID_BASE_URL must be an origin such as https://trade.example.gov.cn "
                          "(http or https, a host, an optional port, nothing after it).")
    return f"{parts.scheme}://{parts.netloc.lower()}"


class ConfigError(RuntimeError):
    """The configuration cannot be used (e.g. production with the development secret)."""


def _bool(v: str | None) -> bool:
    return (v or "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str = DEV_SECRET
    timezone: str = "Asia/Shanghai"
    upload_limit_mb: int = 50
    bid_limit_mb: int = 1024
    bidder_quota_mb: int = 4096
    tender_quota_mb: int = 51200
    upload_idle_minutes: int = 15
    data_dir: Path = Path("instance")
    sandbox: bool = False
    sandbox_factor: int = 1440
    default_locale: str = "zh_CN"
    log_origin: str = "sunbid.localhost/audit"
    platform_key_file: Path | None = None
    pdf_signing_file: Path | None = None
    checkpoint_every: int = 256
    checkpoint_seconds: int = 300
    proxy_hops: int = 0
    witnesses: str = ""
    base_url: str = ""
    ratelimit_storage_uri: str = "memory://"
    login_rate_limit: str = "30 per minute;300 per hour"
    testing: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def accelerator(self) -> int:
        return self.sandbox_factor if self.sandbox else 1

    @property
    def key_file(self) -> Path:
        return self.platform_key_file or self.data_dir / "keys" / "platform.skey"

    @property
    def pdf_key_file(self) -> Path:
        """The key and certificate that sign the PDFs the platform issues (``audit.signing``)."""
        return self.pdf_signing_file or self.data_dir / "keys" / "pdf-signing.pem"

    @property
    def uses_dev_secret(self) -> bool:
        return self.secret_key == DEV_SECRET

    @property
    def behind_tls(self) -> bool:
        """The configured public origin is https (cookies are Secure, HSTS is sent on every answer)."""
        return self.base_url.startswith("https://")

    def with_(self, **changes: Any) -> "Settings":
        return replace(self, **changes)

    def check(self) -> None:
        if self.sandbox and not self.uses_dev_secret and not self.testing:
            raise ConfigError("Sandbox mode is refused together with a production secret key: "
                              "a sandbox platform must never hold real tenders.")
        if self.sandbox_factor < 1:
            raise ConfigError("SUNBID_SANDBOX_FACTOR must be a whole number ≥ 1.")
        if self.upload_limit_mb < 1:
            raise ConfigError("SUNBID_UPLOAD_LIMIT_MB must be ≥ 1.")
        if self.bidder_quota_mb < 1 or self.tender_quota_mb < self.bidder_quota_mb:
            raise ConfigError("SUNBID_BIDDER_QUOTA_MB must be ≥ 1 and SUNBID_TENDER_QUOTA_MB at least as large.")
        if not 1 <= self.upload_idle_minutes <= 24 * 60:
            raise ConfigError("SUNBID_UPLOAD_IDLE_MINUTES must be between 1 and 1440 (a day).")
        if not self.log_origin or any(c.isspace() or c == "+" for c in self.log_origin):
            raise ConfigError("SUNBID_LOG_ORIGIN must be non-empty, without spaces or '+'.")
        if self.checkpoint_every < 1 or self.checkpoint_seconds < 1:
            raise ConfigError("SUNBID_CHECKPOINT_EVERY and SUNBID_CHECKPOINT_SECONDS must be ≥ 1.")
        if not 0 <= self.proxy_hops <= 5:
            raise ConfigError("SUNBID_PROXY_HOPS must be between 0 and 5 (the reverse proxies in front).")
        if self.default_locale not in LOCALES:
            raise ConfigError(f"SUNBID_DEFAULT_LOCALE must be one of {', '.join(LOCALES)}.")
        if self.base_url != _origin(self.base_url):
            raise ConfigError("SUNBID_BASE_URL must be an origin such as https://trade.example.gov.cn.")
        if not self.uses_dev_secret and (problem := secret_key_problem(self.secret_key)):
            raise ConfigError(f"SUNBID_SECRET_KEY is refused: {problem}. Set it to a random value, e.g. "
                              "python -c 'import secrets; print(secrets.token_urlsafe(48))'.")
        from limits import parse_many

        try:
            parse_many(self.login_rate_limit)
        except ValueError:
            raise ConfigError("SUNBID_LOGIN_RATE_LIMIT must be limits such as '30 per minute;300 per hour'.") from None

    def check_production(self) -> None:
        """Refuse to serve for real with the development secret, a secret key that is not random, or in
        sandbox mode."""
        if problem := secret_key_problem(self.secret_key):
            raise ConfigError(f"Refusing to serve: SUNBID_SECRET_KEY is refused ({problem}). Set it to a random "
                              "value of at least 32 characters (e.g. python -c 'import secrets; "
                              "print(secrets.token_urlsafe(48))').")
        self.check()


def from_env(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    data_dir = Path(env.get("SUNBID_DATA_DIR", "instance")).resolve()
    url = env.get("SUNBID_DATABASE_URL") or f"sqlite:///{data_dir / 'sunbid.db'}"
    try:
        upload = int(env.get("SUNBID_UPLOAD_LIMIT_MB", "50"))
        bid_limit = int(env.get("SUNBID_BID_LIMIT_MB", "1024"))
        bidder_quota = int(env.get("SUNBID_BIDDER_QUOTA_MB", "4096"))
        tender_quota = int(env.get("SUNBID_TENDER_QUOTA_MB", "51200"))
        idle = int(env.get("SUNBID_UPLOAD_IDLE_MINUTES", "15"))
        factor = int(env.get("SUNBID_SANDBOX_FACTOR", "1440"))
        every = int(env.get("SUNBID_CHECKPOINT_EVERY", "256"))
        seconds = int(env.get("SUNBID_CHECKPOINT_SECONDS", "300"))
        hops = int(env.get("SUNBID_PROXY_HOPS", "0"))
    except ValueError as exc:
        raise ConfigError(f"Invalid number in configuration: {exc}") from exc
    s = Settings(
        database_url=url,
        secret_key=env.get("SUNBID_SECRET_KEY") or DEV_SECRET,
        timezone=env.get("SUNBID_TIMEZONE", "Asia/Shanghai"),
        upload_limit_mb=upload,
        bid_limit_mb=bid_limit,
        bidder_quota_mb=bidder_quota,
        tender_quota_mb=tender_quota,
        upload_idle_minutes=idle,
        data_dir=data_dir,
        sandbox=_bool(env.get("SUNBID_SANDBOX")),
        sandbox_factor=factor,
        default_locale=env.get("SUNBID_DEFAULT_LOCALE", "zh_CN"),
        log_origin=env.get("SUNBID_LOG_ORIGIN", "sunbid.localhost/audit"),
        platform_key_file=Path(env["SUNBID_PLATFORM_KEY_FILE"]) if env.get("SUNBID_PLATFORM_KEY_FILE") else None,
        pdf_signing_file=Path(env["SUNBID_PDF_SIGNING_FILE"]) if env.get("SUNBID_PDF_SIGNING_FILE") else None,
        checkpoint_every=every,
        checkpoint_seconds=seconds,
        proxy_hops=hops,
        witnesses=env.get("SUNBID_WITNESSES", ""),
        base_url=_origin(env.get("SUNBID_BASE_URL", "")),
        ratelimit_storage_uri=env.get("SUNBID_RATELIMIT_STORAGE_URI") or "memory://",
        login_rate_limit=env.get("SUNBID_LOGIN_RATE_LIMIT") or "30 per minute;300 per hour",
    )
    s.check()
    return s
