"""The platform's signature on the PDFs it issues (opening records, and later evaluation reports and notices):
PAdES (ETSI.CAdES.detached, SHA-256) made with pyHanko, by an ECDSA P-256 key and a self-signed certificate
naming the platform's log origin.

Key and certificate are kept together in one file readable only by the platform's user
(``SUNBID_PDF_SIGNING_FILE``, default ``<data dir>/keys/pdf-signing.pem``), made on first use and never logged.
The certificate alone is published at ``/audit/certificate``: a reader who trusts it checks a document with any
PAdES validator (``pyhanko sign validate --trust certificate.pem record.pdf``, or Acrobat after importing it).
"""
from __future__ import annotations

import io
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

CERTIFICATE_YEARS = 10
FIELD = "Sunbid"


@dataclass(frozen=True)
class SigningIdentity:
    key_pem: bytes
    certificate_pem: bytes

    def signer(self):
        from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data
        from pyhanko.sign import signers

        (certificate,) = load_certs_from_pemder_data(self.certificate_pem)
        return signers.SimpleSigner(signing_cert=certificate,
                                    signing_key=load_private_key_from_pemder_data(self.key_pem, None),
                                    cert_registry=None)


def _make(origin: str, now: datetime) -> SigningIdentity:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Sunbid"),
                      x509.NameAttribute(NameOID.COMMON_NAME, f"Sunbid documents {origin}"[:64])])
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - timedelta(days=1))
                   .not_valid_after(now + timedelta(days=365 * CERTIFICATE_YEARS))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                   .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True,
                                                key_encipherment=False, data_encipherment=False, key_agreement=False,
                                                key_cert_sign=True, crl_sign=False, encipher_only=False,
                                                decipher_only=False), critical=True)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                   .sign(key, hashes.SHA256()))
    return SigningIdentity(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption()),
        certificate.public_bytes(serialization.Encoding.PEM))


def _read(path: Path) -> SigningIdentity:
    text = path.read_bytes()
    marker = b"-----BEGIN CERTIFICATE-----"
    at = text.find(marker)
    if at <= 0:
        raise RuntimeError(f"{path} holds no private key followed by a certificate")
    return SigningIdentity(text[:at].strip() + b"\n", text[at:].strip() + b"\n")


def load_or_create(path: Path, origin: str) -> SigningIdentity:
    """The identity in ``path``, made there (mode 0600) when the file does not exist yet."""
    path = Path(path)
    if path.exists():
        return _read(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    made = _make(origin, datetime.now(UTC))
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker made it first
        return _read(path)
    with os.fdopen(fd, "wb") as f:
        f.write(made.key_pem + made.certificate_pem)
    return made


@lru_cache(maxsize=8)
def _cached(path: str, mtime_ns: int, origin: str) -> SigningIdentity:
    return load_or_create(Path(path), origin)


def identity(settings) -> SigningIdentity:
    """The platform's signing identity for ``settings`` (read once per file)."""
    path = settings.pdf_key_file
    if not path.exists():
        load_or_create(path, settings.log_origin)
    return _cached(str(path), path.stat().st_mtime_ns, settings.log_origin)


def _outside_event_loop(fn, *args, **kwargs):
    """pyHanko's synchronous calls run their own asyncio loop, which fails in a thread where a loop already runs
    (an async server, a browser-driving test): there the call is made in a thread of its own."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn(*args, **kwargs)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args, **kwargs).result()


def sign_pdf(pdf: bytes, who: SigningIdentity, *, reason: str, location: str = "") -> bytes:
    """``pdf`` with the platform's PAdES signature over the whole file (an incremental update)."""
    return _outside_event_loop(_sign_pdf, pdf, who, reason=reason, location=location)


def _sign_pdf(pdf: bytes, who: SigningIdentity, *, reason: str, location: str = "") -> bytes:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from pyhanko.sign.fields import SigSeedSubFilter

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    meta = signers.PdfSignatureMetadata(field_name=FIELD, md_algorithm="sha256", subfilter=SigSeedSubFilter.PADES,
                                        reason=reason, location=location or None)
    return signers.sign_pdf(writer, meta, signer=who.signer()).getvalue()


@dataclass(frozen=True)
class Validation:
    ok: bool
    problem: str = ""
    signed_at: datetime | None = None


def validate(pdf: bytes, certificate_pem: bytes) -> Validation:
    """Whether ``pdf`` carries one PAdES signature, intact, over the whole file, by the key of
    ``certificate_pem`` (trusted as the only root); else the first problem, in words."""
    return _outside_event_loop(_validate, pdf, certificate_pem)


def _validate(pdf: bytes, certificate_pem: bytes) -> Validation:
    from pyhanko.keys import load_certs_from_pemder_data
    from pyhanko.pdf_utils.misc import PdfReadError
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    try:
        roots = list(load_certs_from_pemder_data(certificate_pem))
    except Exception:  # noqa: BLE001 (any unreadable certificate is the same answer)
        return Validation(False, "the certificate is not a PEM certificate")
    if len(roots) != 1:
        return Validation(False, "the certificate file must hold exactly one certificate")
    try:
        signatures = PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures
    except (PdfReadError, ValueError, KeyError) as exc:
        return Validation(False, f"not a readable PDF ({exc})")
    if len(signatures) != 1:
        return Validation(False, f"{len(signatures)} signatures, expected one")
    status = validate_pdf_signature(signatures[0], ValidationContext(trust_roots=roots))
    if not status.intact:
        return Validation(False, "the signed bytes were changed after signing")
    if status.coverage.name != "ENTIRE_FILE":
        return Validation(False, "bytes were added after the signature")
    if not (status.valid and status.trusted):
        return Validation(False, "not signed by the key of this certificate")
    return Validation(True, signed_at=status.signer_reported_dt)
