"""``sunbid ledger …``: import a bank statement, print the trial balance (docs/ledger.md, "Commands")."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext


@click.group("ledger")
def ledger_group() -> None:
    """The deposit ledger."""


@ledger_group.command("import")
@click.argument("statement_file", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def import_command(statement_file: str) -> None:
    """Import a bank statement (CSV or camt.053.001.02) and book its lines, in one transaction."""
    from flask import current_app

    from core.actor import Actor
    from core.db import unit_of_work
    from core.errors import DomainError
    from ledger import service
    from ledger.statements import MalformedStatement, read_statement

    platform = current_app.extensions["sunbid"]
    data = Path(statement_file).read_bytes()
    zone = platform.settings.timezone
    try:
        total = len(read_statement(data, zone=zone).lines)
    except MalformedStatement as exc:
        click.echo(exc.report(), err=True)
        raise click.ClickException(f"{statement_file}: not imported, {len(exc.problems)} problems") from exc
    try:
        with platform.sessions() as s, unit_of_work(s):
            with click.progressbar(length=max(total, 1), label="Booking statement lines", file=sys.stderr) as bar:
                seen = [0]

                def progress(done: int) -> None:
                    bar.update(done - seen[0])
                    seen[0] = done

                result = service.import_statement(s, actor=Actor.system("sunbid ledger import"), data=data,
                                                  now=platform.clock.now(), zone=zone, progress=progress)
    except DomainError as exc:
        raise click.ClickException(str(exc)) from exc
    if not result.made:
        click.echo(f"Statement already imported (statement {result.statement_id}): nothing changed.")
        return
    parts = ", ".join(f"{name} {n}" for name, n in sorted(result.counts.items()) if n)
    click.echo(f"Imported statement {result.statement_id}: {total} lines ({parts or 'none'}).")


@ledger_group.command("trial-balance")
@click.option("--json", "as_json", is_flag=True, help="the accounts and totals as JSON")
@with_appcontext
def trial_balance_command(as_json: bool) -> None:
    """Every account's posted balance (debit positive) and the total per currency, which is zero."""
    from flask import current_app

    from core.money import format_fen
    from ledger import service

    platform = current_app.extensions["sunbid"]
    with platform.sessions() as s:
        tb = service.trial_balance(s)
    if as_json:
        click.echo(json.dumps(tb, ensure_ascii=False, indent=2))
        return
    width = max([len(a["code"]) for a in tb["accounts"]] + [4])
    for a in tb["accounts"]:
        click.echo(f"{a['code']:<{width}}  {a['currency']}  {format_fen(a['balance_fen'], a['currency']):>22}  "
                   f"{a['name']}")
    for currency, total in sorted(tb["totals"].items()):
        click.echo(f"{'total':<{width}}  {currency}  {format_fen(total, currency):>22}")
    if not tb["accounts"]:
        click.echo("The ledger has no entries.")


@ledger_group.command("refunds")
@click.option("--due", "due", is_flag=True, required=True, help="the deposits due for refund, not refunded yet")
@click.option("--start", is_flag=True, help="start each refund (pending until the bank confirms), one transaction each")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def refunds_command(due: bool, start: bool, as_json: bool) -> None:
    """The refunds due: deposits of bids withdrawn before the deadline (due 5 days after the withdrawal)."""
    from flask import current_app

    from core.actor import Actor
    from core.db import unit_of_work
    from core.errors import DomainError
    from core.money import format_fen
    from ledger import service

    platform = current_app.extensions["sunbid"]
    now = platform.clock.now()
    with platform.sessions() as s:
        listed = service.refunds_due(s)
    rows = []
    for item in listed:
        state = "due"
        if start:
            with platform.sessions() as s:
                try:
                    with unit_of_work(s):
                        bank = service.paying_bank(s, item.tender_id, item.bidder_id)
                        service.start_refund(s, actor=Actor.system("sunbid ledger refunds"), tender_id=item.tender_id,
                                             bidder_id=item.bidder_id, bank=bank, now=now, currency=item.currency,
                                             reason=item.reason)
                    state = "started"
                except DomainError as exc:
                    state = f"refused: {exc}"
        rows.append({"tender": item.tender_id, "bidder": item.bidder_id, "amount_fen": item.held_fen,
                     "currency": item.currency, "due_by": item.due_by.isoformat(), "overdue": item.due_by < now,
                     "reason": item.reason, "state": state})
    if as_json:
        click.echo(json.dumps({"refunds": rows}, ensure_ascii=False, indent=2))
        return
    for r in rows:
        click.echo(f"tender {r['tender']} bidder {r['bidder']}: {format_fen(r['amount_fen'], r['currency'])} "
                   f"due by {r['due_by']}{' OVERDUE' if r['overdue'] else ''} ({r['reason']}) {r['state']}")
    if not rows:
        click.echo("No refund is due.")
