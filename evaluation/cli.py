"""``sunbid evaluation …``: recompute a published evaluation result with no database."""
from __future__ import annotations

import json
import os
import sys
from decimal import Decimal
from collections.abc import Callable, Mapping
from pathlib import Path

import click

from core.errors import N_

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"


def terminal_gettext(environ: Mapping[str, str] = os.environ) -> Callable[[str], str]:
    """The terminal's language (``LC_ALL``, ``LC_MESSAGES``, ``LANG``): Chinese for ``zh…``, else English."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name)
        if value:
            if value.lower().startswith("zh"):
                from babel.support import Translations

                return Translations.load(str(TRANSLATIONS), ["zh_Hans_CN"]).gettext
            break
    return lambda s: s


@click.group("evaluation")
def evaluation_group() -> None:
    """Evaluation results (评标结果)."""


@evaluation_group.command("verify")
@click.argument("document", type=click.Path(dir_okay=False, allow_dash=True))
def verify_command(document: str) -> None:
    """Recompute EVAL.json (GET /api/v1/tenders/<id>/evaluation) from its score sheets: exit 0 when every
    score, total and rank matches, 1 naming the first field or row that does not."""
    from evaluation.document import Mismatch, verify

    _ = terminal_gettext()
    try:
        raw = sys.stdin.read() if document == "-" else Path(document).read_text(encoding="utf-8")
        doc = json.loads(raw, parse_float=Decimal)  # a JSON number is then refused: decimals are strings
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        click.echo(_(N_("NOT VERIFIED: %(file)s is not a readable JSON file (%(error)s).")) % {
            "file": document, "error": exc}, err=True)
        sys.exit(1)
    try:
        report = verify(doc)
    except Mismatch as exc:
        click.echo(_(N_("MISMATCH: %(message)s")) % {"message": exc.to_dict(_)["message"]}, err=True)
        sys.exit(1)
    click.echo(_(N_("OK: %(valid)s of %(bids)s bids recomputed from %(scores)s scores by %(experts)s experts; "
                    "ranking: %(ranking)s.")) % {
        "valid": report.valid, "bids": report.bids, "scores": report.scores, "experts": report.experts,
        "ranking": ", ".join(report.ranking) or "-"})
