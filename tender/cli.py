"""``sunbid bid …`` and ``sunbid receipt …``: seal a bid offline, submit it in resumable chunks, verify a
receipt offline."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext


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


@bid_group.command("submit")
@click.argument("bid_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--url", "base_url", required=True, envvar="SUNBID_URL",
              help="the platform's address, e.g. https://bid.example.gov.cn (or set SUNBID_URL)")
@click.option("--token", required=True, envvar="SUNBID_API_TOKEN",
              help="your API token, made on My account (or set SUNBID_API_TOKEN, which keeps it out of the "
                   "shell history)")
@click.option("--tender", "tender_id", type=int, required=True, help="the tender's number, as in /tenders/<number>")
@click.option("--lot", type=int, default=1, show_default=True)
@click.option("--chunk-mb", type=click.IntRange(1, 1024), default=8, show_default=True,
              help="MiB sent per request")
@click.option("--retries", type=click.IntRange(0), default=10, show_default=True,
              help="failed attempts in a row (no progress between them) before giving up")
@click.option("--retry-wait", type=click.FloatRange(0), default=2.0, show_default=True,
              help="seconds before the first retry; doubles each time, at most 60")
@click.option("--timeout", type=click.FloatRange(1), default=60.0, show_default=True,
              help="seconds without an answer from the server before the connection counts as broken")
def submit(bid_file: Path, base_url: str, token: str, tender_id: int, lot: int, chunk_mb: int, retries: int,
           retry_wait: float, timeout: float) -> None:
    """Submit a sealed bid (an age file) in resumable chunks (tus 1.0.0).

    A broken connection is retried from where the server stands; the upload's address is kept in
    BID_FILE.upload.json, so running the same command again after an interruption continues the same
    upload.  At the end the bid's signed receipt is written to BID_FILE.receipt.json (check it with
    `sunbid receipt verify`)."""
    from tender import upload_client

    size = bid_file.stat().st_size
    try:
        server = upload_client.Server(base_url, token, timeout=timeout)
        with click.progressbar(length=max(size, 1), label=f"Uploading {bid_file.name}", file=sys.stderr) as bar:
            def progress(offset: int) -> None:
                if offset >= bar.pos:
                    bar.update(offset - bar.pos)
                else:  # the server kept less than was sent before the break
                    bar.pos = offset
                    bar.render_progress()

            def notice(text: str) -> None:
                click.echo(f"\n{text}", err=True)

            result = upload_client.submit(bid_file, server=server, tender_id=tender_id, lot=lot,
                                          chunk_size=chunk_mb * 1024 * 1024, retries=retries,
                                          retry_wait=retry_wait, progress=progress, notice=notice)
    except upload_client.SubmitError as exc:
        raise click.ClickException(str(exc)) from exc
    if result.resumed:
        click.echo("Continued the upload begun by an earlier run.", err=True)
    click.echo(f"Bid {result.bid_id} received at {result.received_at}: {result.size} bytes, SHA-256 {result.sha256}.")
    click.echo(f"Receipt: {result.receipt_path} (check it with: sunbid receipt verify {result.receipt_path} "
               f"--key platform.pub --file {bid_file})")


@bid_group.command("clean-uploads")
@with_appcontext
def clean_uploads() -> None:
    """Delete the part files of resumable uploads that can no longer become bids (closed, not finished by the
    deadline, or abandoned: no byte for SUNBID_UPLOAD_IDLE_MINUTES).  Run it every few minutes (docs/deploy.md)."""
    from datetime import timedelta

    from flask import current_app

    from core.db import unit_of_work
    from tender import uploads

    platform = current_app.extensions["sunbid"]
    with platform.sessions() as s, unit_of_work(s):
        deleted = uploads.clean_parts(s, data_dir=platform.settings.data_dir, now=platform.clock.now(),
                                      idle=timedelta(minutes=platform.settings.upload_idle_minutes))
    click.echo(f"Deleted {deleted} part file(s) of unfinished uploads.")


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
