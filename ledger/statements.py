"""Bank statements read into lines: CSV (the platform's columns) and ISO 20022 camt.053.001.02 (docs/ledger.md,
"Bank statements").

A statement is read whole before anything is booked: every problem is collected with its line number (the CSV
row, the XML element's line) and a statement with any problem is refused whole (``MalformedStatement``).  XML is
read with lxml and a parser that resolves no entity, loads no DTD and opens no network connection; a document
with a document type declaration is refused outright, so no entity of any kind is expanded (no XXE, no
billion laughs).

Pure module: no Flask, no database, no clock.
"""
from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from lxml import etree

from core.errors import N_, DomainError, InvalidInput
from core.money import check_currency, parse_amount_fen
from ledger.rules import bank_account

CSV_COLUMNS = ("statement_reference", "bank_account", "entry_reference", "booked_at", "amount", "currency",
               "payer_account", "payer_name", "remittance")
CAMT053 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"
MAX_BYTES = 200 * 1024 * 1024
LIMITS = {"entry_reference": 64, "payer_account": 64, "payer_name": 140, "remittance": 500,
          "statement_reference": 64}


class MalformedStatement(InvalidInput):
    code = "malformed_statement"
    default_message = N_("The statement was not imported: %(count)s problems, the first on line %(line)s: %(first)s")
    translated_params = ("first",)

    def __init__(self, problems: list[tuple[int, str]]):
        self.problems = problems
        super().__init__(count=len(problems), line=problems[0][0], first=problems[0][1])

    def report(self) -> str:
        return "\n".join(f"line {line}: {message}" for line, message in self.problems)


@dataclass(frozen=True)
class Line:
    line_no: int
    entry_reference: str
    booked_at: datetime
    amount_fen: int  # positive: money received on the platform's account
    currency: str
    payer_account: str = ""
    payer_name: str = ""
    remittance: str = ""


@dataclass(frozen=True)
class Statement:
    format: str  # "csv" or "camt.053"
    bank_account: str  # the ledger account code of the platform's bank account
    reference: str
    sha256: str
    lines: tuple[Line, ...]
    debit_lines: int = 0  # payments out (refunds), not receipts: left for the refunds' confirmation


def _when(text: str, zone: ZoneInfo, *, date_only_end: bool = False) -> datetime:
    """ISO 8601: a time without an offset is in the platform's zone; a date alone (camt's ``Dt``) is the end of
    that day there, so a payment of unknown hour never counts as before a deadline that day."""
    text = (text or "").strip()
    if len(text) == 10:
        day = datetime.fromisoformat(text).date()
        if not date_only_end:
            raise ValueError(text)
        return datetime.combine(day, time(23, 59, 59), zone)
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    if not 2000 <= value.year <= 2099:
        raise ValueError(text)
    return value.astimezone(timezone.utc)


def _text_field(problems, line_no: int, name: str, value: str | None) -> str:
    value = (value or "").strip()
    if len(value) > LIMITS.get(name, 500):
        problems.append((line_no, f"{name} is longer than {LIMITS.get(name, 500)} characters"))
    if any(ord(c) < 32 for c in value):
        problems.append((line_no, f"{name} contains control characters"))
    return value


def _line(problems, line_no: int, *, entry_reference, booked_at, amount, currency, payer_account="",
          payer_name="", remittance="", zone, date_only_end=False) -> Line | None:
    before = len(problems)
    ref = _text_field(problems, line_no, "entry_reference", entry_reference)
    if not ref:
        problems.append((line_no, "the entry has no reference"))
    try:
        when = _when(booked_at or "", zone, date_only_end=date_only_end)
    except ValueError:
        when = None
        problems.append((line_no, f"booking time {booked_at!r} is not an ISO 8601 date and time"))
    try:
        fen = parse_amount_fen(amount or "")
        if fen <= 0:
            problems.append((line_no, f"amount {amount} is not a positive amount"))
    except DomainError:
        fen = 0
        problems.append((line_no, f"amount {amount!r} is not a number with at most two decimals"))
    try:
        check_currency((currency or "").strip())
    except DomainError:
        problems.append((line_no, f"currency {currency!r} is not an ISO 4217 code"))
    fields = {n: _text_field(problems, line_no, n, v) for n, v in
              (("payer_account", payer_account), ("payer_name", payer_name), ("remittance", remittance))}
    if len(problems) > before:
        return None
    return Line(line_no, ref, when, fen, currency.strip(), **fields)


def _finish(problems, fmt: str, data: bytes, account: str | None, reference: str | None, lines: list[Line],
            debit_lines: int = 0) -> Statement:
    seen: dict[str, int] = {}
    for line in lines:
        if line.entry_reference in seen:
            problems.append((line.line_no, f"entry reference {line.entry_reference} is also on line "
                                           f"{seen[line.entry_reference]}"))
        seen.setdefault(line.entry_reference, line.line_no)
    code = None
    if account is not None:
        try:
            code = bank_account(account)
        except DomainError:
            problems.append((1, f"bank account {account!r} is not an account number"))
    if not reference:
        problems.append((1, "the statement has no reference"))
    if problems:
        raise MalformedStatement(sorted(problems))
    return Statement(fmt, code, reference, hashlib.sha256(data).hexdigest(), tuple(lines), debit_lines)


def read_csv(data: bytes, *, zone: str = "Asia/Shanghai") -> Statement:
    """A CSV statement (UTF-8, optionally with a BOM; a header row naming ``CSV_COLUMNS``, in any order)."""
    tz = ZoneInfo(zone)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MalformedStatement([(text_line(data, exc.start), "the file is not UTF-8 text")]) from exc
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    problems: list[tuple[int, str]] = []
    try:
        header = reader.fieldnames or []
    except csv.Error as exc:
        raise MalformedStatement([(1, f"unreadable CSV: {exc}")]) from exc
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise MalformedStatement([(1, f"the header lacks the columns {', '.join(missing)}")])
    lines: list[Line] = []
    account = reference = None
    try:
        for row in reader:
            no = reader.line_num
            if None in row or any(v is None for v in row.values()):
                problems.append((no, f"the row has {len(row) - (1 if None in row else 0)} fields, not {len(header)}"))
                continue
            for name, value in (("bank_account", row["bank_account"].strip()),
                                ("statement_reference", row["statement_reference"].strip())):
                current = account if name == "bank_account" else reference
                if current is None:
                    if name == "bank_account":
                        account = value
                    else:
                        reference = _text_field(problems, no, name, value)
                elif value != current:
                    problems.append((no, f"{name} {value!r} differs from the first row's {current!r}"))
            line = _line(problems, no, entry_reference=row["entry_reference"], booked_at=row["booked_at"],
                         amount=row["amount"], currency=row["currency"], payer_account=row["payer_account"],
                         payer_name=row["payer_name"], remittance=row["remittance"], zone=tz)
            if line is not None:
                lines.append(line)
    except csv.Error as exc:
        problems.append((reader.line_num, f"unreadable CSV: {exc}"))
    if account is None and not problems:
        raise MalformedStatement([(2, "the statement has no lines")])
    return _finish(problems, "csv", data, account or "", reference, lines)


def text_line(data: bytes, offset: int) -> int:
    return data[:offset].count(b"\n") + 1


_PARSER_OPTIONS = dict(resolve_entities=False, load_dtd=False, no_network=True, dtd_validation=False,
                       huge_tree=False, remove_comments=True, remove_pis=True)


def _find(el, path: str):
    """The first element along a path of local names under the camt namespace (``a/b/c``)."""
    found = el.find("/".join(f"{{{CAMT053}}}{p}" for p in path.split("/")))
    return found


def _text(el, path: str) -> str:
    found = _find(el, path) if el is not None else None
    return (found.text or "").strip() if found is not None else ""


def read_camt053(data: bytes, *, zone: str = "Asia/Shanghai") -> Statement:
    """An ISO 20022 camt.053.001.02 bank-to-customer statement with one statement (``Stmt``).  Credit entries
    (``CdtDbtInd`` CRDT) that are booked (``Sts`` BOOK) are its lines; debit entries are counted apart."""
    tz = ZoneInfo(zone)
    if b"<!DOCTYPE" in data[:4096].upper() or b"<!ENTITY" in data.upper():
        raise MalformedStatement([(1, "a document type declaration is not allowed in a statement")])
    try:
        root = etree.fromstring(data, etree.XMLParser(**_PARSER_OPTIONS))
    except etree.XMLSyntaxError as exc:
        raise MalformedStatement([(exc.lineno or 1, f"not well-formed XML: {exc.msg}")]) from exc
    if root.tag != f"{{{CAMT053}}}Document":
        raise MalformedStatement([(root.sourceline or 1, f"not a camt.053.001.02 document (root {root.tag})")])
    stmts = root.findall(f"{{{CAMT053}}}BkToCstmrStmt/{{{CAMT053}}}Stmt")
    if len(stmts) != 1:
        raise MalformedStatement([(root.sourceline or 1, f"the document has {len(stmts)} statements, not one")])
    stmt = stmts[0]
    problems: list[tuple[int, str]] = []
    account = _text(stmt, "Acct/Id/IBAN") or _text(stmt, "Acct/Id/Othr/Id")
    reference = _text_field(problems, stmt.sourceline or 1, "statement_reference", _text(stmt, "Id"))
    lines: list[Line] = []
    debits = 0
    for ntry in stmt.findall(f"{{{CAMT053}}}Ntry"):
        no = ntry.sourceline or 1
        indicator = _text(ntry, "CdtDbtInd")
        if indicator == "DBIT":
            debits += 1
            continue
        if indicator != "CRDT":
            problems.append((no, f"credit/debit indicator {indicator!r} is neither CRDT nor DBIT"))
            continue
        if _text(ntry, "Sts") not in ("BOOK", ""):
            continue  # pending and information entries are not yet money on the account
        amt = _find(ntry, "Amt")
        tx = _find(ntry, "NtryDtls/TxDtls")
        entry_ref = _text(ntry, "AcctSvcrRef") or (_text(tx, "Refs/AcctSvcrRef") if tx is not None else "") \
            or _text(ntry, "NtryRef")
        remittance = " ".join((u.text or "").strip() for u in tx.iter(f"{{{CAMT053}}}Ustrd")) if tx is not None else ""
        payer_account = (_text(tx, "RltdPties/DbtrAcct/Id/IBAN") or _text(tx, "RltdPties/DbtrAcct/Id/Othr/Id")) \
            if tx is not None else ""
        line = _line(problems, no, entry_reference=entry_ref,
                     booked_at=_text(ntry, "BookgDt/DtTm") or _text(ntry, "BookgDt/Dt"),
                     amount=(amt.text or "") if amt is not None else "",
                     currency=amt.get("Ccy", "") if amt is not None else "",
                     payer_account=payer_account, payer_name=_text(tx, "RltdPties/Dbtr/Nm") if tx is not None else "",
                     remittance=remittance, zone=tz, date_only_end=True)
        if line is not None:
            lines.append(line)
    return _finish(problems, "camt.053", data, account, reference, lines, debits)


def read_statement(data: bytes, *, zone: str = "Asia/Shanghai") -> Statement:
    """A statement in either format, told by its first bytes (XML starts with ``<``)."""
    if len(data) > MAX_BYTES:
        raise MalformedStatement([(1, "the file is larger than 200 MB")])
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return read_camt053(data, zone=zone) if head == b"<" else read_csv(data, zone=zone)
