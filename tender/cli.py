"""``sunbid bid …`` and ``sunbid receipt …``: seal a bid offline, verify a receipt offline."""
from __future__ import annotations

import sys
from pathlib import Path

import click


@click.group("bid")
def bid_group() -> None:
    """Sealed bids."""


@bid_group.command("pack")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True)
@click.option("--tender", "tender_code", required=True, help="the tender's project code")
@click.option("--lot", type=int, default=1, show_default=True)
@click.option("--bidder-name", required=True)
@click.option("--credit-code", required=True, help="your unified social credit code")
@click.option("--price", required=True, help="the bid price in yuan, e.g. 1234567.89")
@click.option("--duration-days", type=int, required=True, help="contract duration or delivery period")
@click.option("--validity-days", type=int, default=90, show_default=True, help="bid validity")
def pack(directory: str, output: str, tender_code: str, lot: int, bidder_name: str, credit_code: str, price: str,
         duration_days: int, validity_days: int) -> None:
    """Build a bid package (bid.json + the files of DIRECTORY) and check it (docs/bid-package.md)."""
    from core.errors import DomainError
    from tender import bidpackage

    try:
        bidpackage.pack(Path(directory), tender=tender_code, lot=lot, bidder_name=bidder_name,
                        credit_code=credit_code, price=price, duration_days=duration_days,
                        validity_days=validity_days, output=Path(output))
        form = bidpackage.validate_package(Path(output))
    except DomainError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Packed {len(form.files)} files for tender {form.tender} lot {form.lot}, price {form.price} "
               f"{form.currency}: {output}. Seal it with: sunbid bid seal --tender-recipient age1… {output} "
               f"-o bid.age")


@bid_group.command("seal")
@click.argument("package", type=click.Path(exists=True, dir_okay=False))
@click.option("--tender-recipient", required=True, help="the tender's opening key (age1…), shown on its page")
@click.option("--self", "own", multiple=True, help="your own age recipient, to open your archived copy later")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True)
def seal(package: str, tender_recipient: str, own: tuple[str, ...], output: str) -> None:
    """Seal a bid package offline (age v1, X25519): the same format as `age -r … -o bid.age bid.zip`."""
    from tender import sealing

    try:
        recipients = [sealing.normalize_recipient(r) for r in (tender_recipient, *own)]
        sealing.seal_file(Path(package), Path(output), recipients)
    except sealing.InvalidRecipient as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Sealed {package} to {len(recipients)} recipient(s): {output}")


@click.group("receipt")
def receipt_group() -> None:
    """Signed bid receipts."""


@receipt_group.command("verify")
@click.argument("receipt_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--key", "key_file", type=click.Path(exists=True, dir_okay=False), required=True,
              help="the platform's verifier key (platform.pub, as served at /audit/vkey)")
@click.option("--file", "sealed_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="the sealed bid you submitted: its SHA-256 must be the one in the receipt")
def verify(receipt_file: str, key_file: str, sealed_file: str | None) -> None:
    """Verify a receipt offline, with no database: its signature, its audit entry and that entry's
    inclusion proof against a checkpoint signed by the same key, and optionally the file it is for."""
    import hashlib

    from audit.notes import MalformedKey
    from tender.receipts import BadReceipt, verify_complete

    try:
        text = Path(receipt_file).read_text(encoding="utf-8")
        vkey = Path(key_file).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        click.echo("INVALID: The receipt does not verify: the receipt or the key file is not UTF-8 text.", err=True)
        sys.exit(1)
    try:
        result = verify_complete(text, vkey)
    except MalformedKey:
        raise click.ClickException("the --key file is not a platform verifier key (name+keyid+base64, as "
                                   "served at /audit/vkey)") from None
    except BadReceipt as exc:
        click.echo(f"INVALID: {exc}", err=True)
        sys.exit(1)
    body = result.receipt
    if sealed_file:
        digest = hashlib.sha256()
        with open(sealed_file, "rb") as f:
            while chunk := f.read(1024 * 1024):
                digest.update(chunk)
        if digest.hexdigest() != body["sha256"]:
            click.echo("INVALID: the file's SHA-256 is not the one in the receipt", err=True)
            sys.exit(1)
    click.echo(f"OK: bid {body['bid_id']} for tender {body['tender']} lot {body['lot']} by {body['bidder']}, "
               f"{body['size']} bytes, SHA-256 {body['sha256']}, received {body['received_at']}, "
               f"audit entry {body['audit_seq']}.")
    if result.checkpoint is not None:
        click.echo(f"OK: audit entry {body['audit_seq']} is in the log at index {result.index}, proven against "
                   f"the checkpoint of {result.checkpoint.origin} at tree size {result.checkpoint.size}, "
                   f"signed by the same key.")
    else:
        seq = body.get("audit_seq")
        click.echo(f"NOTE: this receipt carries no inclusion proof (it was made before receipts carried one); "
                   f"fetch it from /api/v1/audit/proof/inclusion?index={seq - 1 if isinstance(seq, int) else 'N'}"
                   f"&size=<a checkpoint's tree size>.")
