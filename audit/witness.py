"""A witness of the audit log (c2sp.org/tlog-witness, simplified to a pull model).

A witness remembers the last checkpoint it cosigned.  Shown a newer one, it checks the log's
signature and a consistency proof from the old tree to the new one, and only then cosigns.  It
refuses a smaller tree (rollback) and a different root for a size it has seen, or a proof that does
not verify (a fork): the operator cannot show different histories to different people without
a witness noticing.  Pure: fetching and the clock are the caller's.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from audit import merkle, notes


class WitnessRefusal(Exception):
    """The witness will not cosign; ``reason`` says why (fork, rollback, bad signature…)."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class Cosigned:
    checkpoint: notes.Checkpoint
    note: str  # the log's signed note
    line: str  # the cosignature line to append to it

    @property
    def cosigned_note(self) -> str:
        return self.note + self.line


def witness(*, new_note: str, previous_note: str | None, log_verifier: notes.Verifier,
            signer: notes.WitnessSigner, timestamp: int,
            consistency: Callable[[int, int], Sequence[bytes]]) -> Cosigned:
    """Check ``new_note`` against what the witness saw before and cosign it.

    ``consistency(old, new)`` fetches the log's consistency proof between two sizes.
    """
    try:
        new = notes.open_checkpoint(new_note, log_verifier)
    except notes.NoteError as exc:
        raise WitnessRefusal(f"the checkpoint is not signed by the log's key ({exc})") from None
    if previous_note is not None:
        old = notes.open_checkpoint(previous_note, log_verifier)
        if new.size < old.size:
            raise WitnessRefusal(f"rollback: the log shows {new.size} entries after having shown {old.size}")
        if new.size == old.size and new.root != old.root:
            raise WitnessRefusal(f"fork: two different roots for the same size {new.size}")
        if old.size > 0 and new.size > old.size:
            proof = list(consistency(old.size, new.size))
            if not merkle.verify_consistency(old.size, new.size, old.root, new.root, proof):
                raise WitnessRefusal(f"fork: the tree of size {new.size} does not extend the tree of size "
                                     f"{old.size} the witness cosigned before")
    return Cosigned(new, new_note, notes.cosign(new, signer, timestamp))
