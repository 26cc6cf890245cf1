"""The experts area's audit actions and their disclosure rules: who is in the pool, and what happened to a
profile, is for supervisors (an expert's identity must not be linkable to their draws before evaluations)."""
from __future__ import annotations

from audit.disclosure import Action
from audit.rules import Disclosure

ACTIONS: tuple[Action, ...] = (
    Action("experts.profile_created", Disclosure.SUPERVISORS),
    Action("experts.imported", Disclosure.SUPERVISORS),
    Action("experts.suspended", Disclosure.SUPERVISORS),
    Action("experts.reinstated", Disclosure.SUPERVISORS),
    Action("experts.contact_updated", Disclosure.SUPERVISORS),
)
