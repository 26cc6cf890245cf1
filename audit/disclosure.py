"""Who may read which audit entry, and when.

Each area registers its audit actions with their disclosure rule (``audit.rules.Disclosure``) and, for
the rules that depend on a tender's progress, a resolver that tells the audit area a tender's current
deadline and evaluation end (audit imports no area).  An action nobody registered is read by supervisors
only.  Every reader of the log (the entries API, exports, pages) goes through :meth:`Actions.readable`.
"""
from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from audit.rules import SUBJECT_KIND, Disclosure, Subject, disclosed, rule_of
from core.roles import SUPERVISING


# (session, tender ids) -> {tender id: Subject} for the tenders it knows
Resolver = Callable[[Session, Collection[int]], Mapping[int, Subject]]


@dataclass(frozen=True)
class Action:
    """An audit action as its area declares it: its dotted name, its disclosure rule and whether it is a
    key act (a public milestone: the request that records it signs a checkpoint once it committed)."""

    name: str
    disclosure: Disclosure
    key: bool = False


class Actions:
    """The registered audit actions, subject kinds, subject resolvers and replay handlers of one application."""

    def __init__(self) -> None:
        self._rules: dict[str, Disclosure] = {}
        self._key: set[str] = set()
        self._resolvers: list[Resolver] = []
        self._replayers: dict[str, Any] = {}
        self._kinds: set[str] = set()

    def register(self, *actions: Action) -> None:
        for action in actions:
            if not isinstance(action.disclosure, Disclosure):
                raise TypeError(f"audit action {action.name}: its disclosure rule must be a Disclosure")
            known = self._rules.get(action.name)
            if known is not None and known is not action.disclosure:
                raise ValueError(f"audit action {action.name} is registered twice with different rules")
            self._rules[action.name] = action.disclosure
            if action.key:
                self._key.add(action.name)

    @property
    def key_actions(self) -> frozenset[str]:
        """The key acts: each one recorded makes its request sign a checkpoint."""
        return frozenset(self._key)

    def claim_subject_kinds(self, *kinds: str) -> None:
        """Subject kinds an area owns (``record(subject=(kind, id))``); a kind claimed twice is refused."""
        for kind in kinds:
            if not isinstance(kind, str) or not SUBJECT_KIND.fullmatch(kind):
                raise ValueError(f"audit subject kind {kind!r} is not a short lowercase name")
            if kind in self._kinds:
                raise ValueError(f"audit subject kind {kind} is claimed twice")
            self._kinds.add(kind)

    @property
    def subject_kinds(self) -> frozenset[str]:
        return frozenset(self._kinds)

    def add_replayer(self, key: str, replayer: Any) -> None:
        """How replay folds one part of a subject's state (``audit.replay.Replayer``); a key folded twice
        is refused."""
        if key in self._replayers:
            raise ValueError(f"replay key {key} is folded twice")
        self._replayers[key] = replayer

    @property
    def replayers(self) -> Mapping[str, Any]:
        return dict(self._replayers)

    def resolve_subjects(self, resolver: Resolver) -> None:
        """``resolver`` tells the current deadline (and evaluation end) of the tenders it knows."""
        if resolver not in self._resolvers:
            self._resolvers.append(resolver)

    @property
    def rules(self) -> Mapping[str, Disclosure]:
        return dict(self._rules)

    def rule(self, action: str) -> Disclosure:
        return rule_of(self._rules, action)

    def subjects(self, session: Session, tender_ids: Collection[int]) -> dict[int, Subject]:
        found: dict[int, Subject] = {}
        wanted = {t for t in tender_ids if t is not None}
        for resolver in self._resolvers:
            if not wanted:
                break
            for tender_id, subject in resolver(session, wanted).items():
                found[tender_id] = subject
            wanted -= found.keys()
        return found

    def readable(self, session: Session, rows: Sequence, *, role: str | None, now: datetime) -> list[bool]:
        """For each audit row (``action`` and ``tender_id`` attributes), whether a reader of ``role``
        (None: anonymous) may read it in full at ``now``; everyone else gets its index and leaf hash only."""
        if role in SUPERVISING:
            return [True] * len(rows)
        rules = [self.rule(r.action) for r in rows]
        pending = {r.tender_id for r, rule in zip(rows, rules, strict=True)
                   if rule is not Disclosure.PUBLIC and rule is not Disclosure.SUPERVISORS and r.tender_id is not None}
        subjects = self.subjects(session, pending) if pending else {}
        return [disclosed(rule, subjects.get(r.tender_id) if r.tender_id is not None else None, now)
                for r, rule in zip(rows, rules, strict=True)]


AUDIT_ACTIONS: tuple[Action, ...] = (
    Action("witness.registered", Disclosure.PUBLIC),
    Action("checkpoint.cosigned", Disclosure.PUBLIC),
)


def default_actions(extra: Iterable[Action] = ()) -> Actions:
    actions = Actions()
    actions.register(*AUDIT_ACTIONS, *extra)
    return actions
