"""A tender as an agency types it (a form or the API's JSON), checked where it enters: every refusal names
its field.  Pure module: no Flask, no database, no clock."""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from core import money
from core.errors import N_, InvalidInput
from core.rules import bounded_time, whole_number
from tender import rules


REGIMES = ("works", "procurement")
CATEGORIES = ("works", "goods", "services")
METHODS = ("comprehensive", "lowest_price")
PROJECT_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{2,39}$")


@dataclass(frozen=True)
class LotInput:
    name: str
    estimated_price: Decimal


@dataclass(frozen=True)
class RequiredDocumentInput:
    """A document every bid must hold (投标函, 资格证明文件, 技术方案, …): its name, the file types accepted
    (extensions, lower case, without the dot) and its size limit in MB."""

    name: str
    types: tuple[str, ...]
    max_mb: int


MAX_REQUIRED_DOCUMENTS = 10
MAX_REQUIRED_MB = 1024
DOCUMENT_TYPES = ("pdf", "ofd", "doc", "docx", "wps", "xls", "xlsx", "et", "ppt", "pptx", "txt", "csv", "jpg",
                  "jpeg", "png", "tif", "tiff", "dwg", "dxf", "zip", "rar", "7z")
"""The file types a tender may ask for."""
UNSAFE_NAME = re.compile(r"[/\\:*?\"<>|\x00-\x1f\x7f]")


@dataclass(frozen=True)
class TenderInput:
    title: str
    regime: str
    category: str
    region: str
    estimated_price: Decimal
    deposit: Decimal
    download_start: datetime
    download_end: datetime
    deadline: datetime
    project_code: str = ""
    description: str = ""
    qualification: str = ""
    evaluation_method: str = "comprehensive"
    lots: tuple[LotInput, ...] = ()
    settings: dict[str, Any] = field(default_factory=dict)  # overrides of the legal defaults
    required_documents: tuple[RequiredDocumentInput, ...] = ()


SETTING_FIELDS = ("min_issue_days", "min_download_days", "amendment_notice_days", "deposit_cap_percent", "min_bids")


def text_field(data: Mapping[str, Any], name: str, *, max_len: int, required: bool = True) -> str:
    """The field ``name`` of ``data`` as text, stripped: required unless told, at most ``max_len`` characters."""
    value = str(data.get(name) or "").strip()
    if required and not value:
        raise InvalidInput(N_("This field is required."), field=name)
    if len(value) > max_len:
        raise InvalidInput(N_("At most %(n)s characters."), field=name, n=max_len)
    return value


def _choice(data: Mapping[str, Any], name: str, choices: tuple[str, ...]) -> str:
    value = str(data.get(name) or "").strip()
    if value not in choices:
        raise InvalidInput(N_("Choose one of the offered values."), field=name)
    return value


def _when(data: Mapping[str, Any], name: str, tz: ZoneInfo) -> datetime:
    raw = data.get(name)
    if isinstance(raw, datetime):
        value = raw
    else:
        text = str(raw or "").strip()
        if not text:
            raise InvalidInput(N_("This field is required."), field=name)
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(N_("Not a valid date and time (expected YYYY-MM-DD HH:MM)."), field=name) from None
    return bounded_time(value if value.tzinfo else value.replace(tzinfo=tz), field=name)


def parse_required_documents(data: Mapping[str, Any]) -> tuple[RequiredDocumentInput, ...]:
    """The documents a tender requires, from the API's ``required_documents`` (a list of {name, types, max_mb},
    types a list or a comma-separated text) or form rows ``req_name_N``, ``req_types_N``, ``req_mb_N``.  A name
    becomes a folder of the bid package: 1 to 100 characters, none of / \\ : * ? " < > | nor control characters,
    each name once; types among ``DOCUMENT_TYPES``; a limit of 1 to ``MAX_REQUIRED_MB`` MB."""
    raw = data.get("required_documents")
    if isinstance(raw, list):
        rows = [(r.get("name"), r.get("types"), r.get("max_mb")) if isinstance(r, Mapping) else (r, None, None)
                for r in raw]
    else:
        rows = [(data.get(f"req_name_{i}"), data.get(f"req_types_{i}"), data.get(f"req_mb_{i}"))
                for i in range(1, MAX_REQUIRED_DOCUMENTS + 1)]
    out: list[RequiredDocumentInput] = []
    seen: set[str] = set()
    for i, (name, types, max_mb) in enumerate(rows, start=1):
        name = str(name or "").strip()
        if isinstance(types, (list, tuple)):
            types_text = ",".join(str(x) for x in types)
        else:
            types_text = str(types or "")
        mb_text = str(max_mb if max_mb is not None else "").strip()
        if not name and not types_text.strip() and not mb_text:
            continue
        if not name:
            raise InvalidInput(N_("Each required document needs a name."), field=f"req_name_{i}")
        if len(name) > 100:
            raise InvalidInput(N_("At most %(n)s characters."), field=f"req_name_{i}", n=100)
        if UNSAFE_NAME.search(name) or name in (".", "..") or any(
                unicodedata.category(c).startswith("C") or unicodedata.category(c) in ("Zl", "Zp") for c in name):
            raise InvalidInput(N_("A document name cannot hold / \\ : * ? \" < > | or control characters."),
                               field=f"req_name_{i}")
        if name.casefold() in seen:
            raise InvalidInput(N_("Each required document is listed once."), field=f"req_name_{i}")
        seen.add(name.casefold())
        kinds: list[str] = []
        for part in re.split(r"[,，;；\s]+", types_text):
            kind = part.strip().lower().lstrip(".")
            if not kind:
                continue
            if kind not in DOCUMENT_TYPES:
                raise InvalidInput(N_("Not a file type a tender can ask for: %(type)s (one of %(types)s)."),
                                   field=f"req_types_{i}", type=kind, types=", ".join(DOCUMENT_TYPES))
            if kind not in kinds:
                kinds.append(kind)
        if not kinds:
            raise InvalidInput(N_("Name the file types accepted, e.g. pdf, docx."), field=f"req_types_{i}")
        out.append(RequiredDocumentInput(name, tuple(kinds), whole_number(mb_text, field=f"req_mb_{i}", minimum=1,
                                                                          maximum=MAX_REQUIRED_MB)))
    if len(out) > MAX_REQUIRED_DOCUMENTS:
        raise InvalidInput(N_("A tender requires at most %(n)s documents."), field="required_documents",
                           n=MAX_REQUIRED_DOCUMENTS)
    return tuple(out)


def parse_tender_input(data: Mapping[str, Any], *, tz: ZoneInfo) -> TenderInput:
    """Turn form fields or API JSON into a TenderInput; every refusal names its field.

    Lots come as ``lots`` (list of {name, estimated_price}) or form rows ``lot_name_N``/``lot_price_N``.
    With lots and no estimated price, the estimate is their sum.
    """
    lots: list[LotInput] = []
    raw_lots = data.get("lots")
    if isinstance(raw_lots, list):
        rows = [(str(r.get("name") or ""), str(r.get("estimated_price") or "")) for r in raw_lots
                if isinstance(r, Mapping)]
    else:
        rows = [(str(data.get(f"lot_name_{i}") or ""), str(data.get(f"lot_price_{i}") or "")) for i in range(1, rules.MAX_LOTS + 1)]
    for i, (name, price) in enumerate(rows, start=1):
        if not name.strip() and not price.strip():
            continue
        if not name.strip():
            raise InvalidInput(N_("Each lot needs a name."), field=f"lot_name_{i}")
        if len(name.strip()) > 200:
            raise InvalidInput(N_("At most %(n)s characters."), field=f"lot_name_{i}", n=200)
        lots.append(LotInput(name.strip(), money.parse_money(price, field=f"lot_price_{i}")))
    if len(lots) > rules.MAX_LOTS:
        raise InvalidInput(N_("A tender has at most %(n)s lots."), field="lots", n=rules.MAX_LOTS)
    estimate_text = str(data.get("estimated_price") or "").strip()
    if not estimate_text and lots:
        estimate = sum((lot.estimated_price for lot in lots), Decimal("0"))
    else:
        estimate = money.parse_money(estimate_text, field="estimated_price")
    deposit_text = str(data.get("deposit") or "0").strip()
    overrides: dict[str, Any] = {}
    for name in SETTING_FIELDS:
        text = str(data.get(name) if data.get(name) is not None else "").strip()
        if not text:
            continue
        if name != "deposit_cap_percent":
            overrides[name] = whole_number(text, field=name, maximum=rules.MAX_PERIOD_DAYS)
            continue
        try:
            overrides[name] = Decimal(text)
        except (ValueError, ArithmeticError):
            raise InvalidInput(N_("Enter a number."), field=name) from None
        if not overrides[name].is_finite():
            raise InvalidInput(N_("Enter a number."), field=name)
    return TenderInput(
        title=text_field(data, "title", max_len=200),
        project_code=text_field(data, "project_code", max_len=40, required=False),
        regime=_choice(data, "regime", REGIMES),
        category=_choice(data, "category", CATEGORIES),
        region=text_field(data, "region", max_len=100),
        description=text_field(data, "description", max_len=20000, required=False),
        qualification=text_field(data, "qualification", max_len=20000, required=False),
        evaluation_method=_choice({"m": data.get("evaluation_method") or "comprehensive"}, "m", METHODS),
        estimated_price=estimate,
        deposit=money.parse_money(deposit_text, field="deposit"),
        download_start=_when(data, "download_start", tz),
        download_end=_when(data, "download_end", tz),
        deadline=_when(data, "deadline", tz),
        lots=tuple(lots),
        settings=overrides,
        required_documents=parse_required_documents(data),
    )
