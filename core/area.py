"""How an area declares itself to the composition root (``sunbid.areas``).

Each area writes one ``AREA = Area(...)`` in ``<area>/area.py``: its blueprints, the API blueprints that
authenticate by bearer token (exempt from the form CSRF check), its CLI commands, its models module and
the columns there that name blobs, its audit actions, the audit subject kinds it owns and its replay handlers, its demo (a planner of steps and
a summary of what they made), its navigation entries, its panels on the signed-in users' desk (``DeskPanel``)
and the modules it declares pure.
``sunbid.app.create_app(areas=...)`` reads the declarations of the areas it is given, checks them against
each other (``check_areas``) and keeps what they register on the application, never in module globals.
core imports no area: it only defines the shape.
"""
from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.demo import DemoPlanner, DemoWorld
from core.roles import Role, roles_of


KERNEL_PURE = ("core.rules", "core.money", "core.calendar", "core.roles", "core.demo")
"""The kernel's own pure modules (the areas declare theirs in ``Area.pure``)."""


class AreaConflict(ValueError):
    """An area's declaration breaks a rule of the seam (a table without its prefix, a blueprint named
    otherwise, an action, replay key, audit subject kind, desk panel key or URL another area has)."""


class AreaNotLoaded(RuntimeError):
    """An area's models module was not imported, so the columns it declares cannot be read."""


@dataclass(frozen=True)
class NavEntry:
    """A link in the top navigation: shown to signed-in users of ``roles`` (empty: to everyone), at
    ``position`` among the entries of every area (lower first)."""

    endpoint: str
    label: Any  # a lazily translated string
    position: int
    roles: frozenset[str] = frozenset()

    def shown_to(self, role: str | None) -> bool:
        return not self.roles or (role is not None and role in self.roles)


@dataclass(frozen=True)
class DeskPanel:
    """A panel of the desk (``/desk``), the page every signed-in user lands on: shown to users of ``roles``, at
    ``position`` among the panels of every area for that role (lower first), under ``title`` (a lazily translated
    string).  ``build(session, actor, now)`` reads what the panel shows, through its area's services, and
    returns the context its ``template`` (a path under templates/, e.g. ``tender/desk_bids.html``) is rendered
    with.  ``key`` names it, once among every area's panels (``check_areas`` refuses a second)."""

    key: str
    title: Any  # a lazily translated string
    roles: frozenset[Role]
    position: int
    build: Callable[[Any, Any, Any], Mapping[str, Any]]
    template: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "roles", frozenset(roles_of(self.roles)))  # Role values only
        if not self.roles:
            raise ValueError(f"desk panel {self.key}: it names no role")

    def shown_to(self, role: str | None) -> bool:
        return role is not None and role in self.roles


@dataclass(frozen=True)
class Area:
    """One area's declaration.  ``prefix`` (default: ``name``) starts every table name (``<prefix>_...``)
    and every blueprint name (``<prefix>`` or ``<prefix>_...``)."""

    name: str
    prefix: str = ""
    blueprints: Sequence[Any] = ()
    api_blueprints: Sequence[Any] = ()  # among ``blueprints``: bearer-token only, exempt from form CSRF
    commands: Sequence[Any] = ()  # click commands added to the ``sunbid`` group
    models: str | None = None  # the models module, e.g. "tender.models"
    blob_columns: Sequence[str] = ()  # "Class.attribute" in ``models`` holding blob SHA-256s
    actions: Sequence[Any] = ()  # audit.disclosure.Action constants
    subjects: Callable[..., Any] | None = None  # audit.disclosure.Resolver for its tender-bound rules
    subject_kinds: Sequence[str] = ()  # the audit subject kinds it owns ("tender"): record(subject=(kind, id))
    replayers: Mapping[str, Any] = field(default_factory=dict)  # replay key -> audit.replay.Replayer
    demo: DemoPlanner | None = None  # plan(world) -> its DemoSteps, made through its services (core.demo)
    demo_summary: Callable[[DemoWorld], str] | None = None  # one translated line: what its steps made
    nav: Sequence[NavEntry] = ()
    desk: Sequence[DeskPanel] = ()  # its panels on the signed-in users' desk
    pure: Sequence[str] = ()  # modules (dotted names) free of Flask, SQLAlchemy sessions and clock reads
    openapi: Mapping[str, Any] = field(default_factory=dict)  # its part of the OpenAPI description's paths
    labels: Callable[[Any], None] | None = None  # registers its labels on the app's audit.labels.Labels
    setup: Callable[[Any], None] | None = None  # called with the app before its blueprints are registered

    def __post_init__(self) -> None:
        if not self.prefix:
            object.__setattr__(self, "prefix", self.name)

    def owns_blueprint(self, name: str) -> bool:
        return name == self.prefix or name.startswith(self.prefix + "_")

    def models_module(self):
        """The imported models module (None when the area has no models); ``AreaNotLoaded`` when it was
        never imported."""
        if self.models is None:
            return None
        module = sys.modules.get(self.models)
        if module is None:
            raise AreaNotLoaded(f"area {self.name}: its models module {self.models} was not loaded")
        return module

    def tables(self) -> list[str]:
        """The names of the tables the mapped classes of its models module define."""
        module = self.models_module()
        if module is None:
            return []
        return sorted({value.__table__.name for value in vars(module).values()
                       if isinstance(value, type) and value.__module__ == module.__name__
                       and getattr(value, "__table__", None) is not None})

    def blob_references(self) -> list[Any]:
        module = self.models_module()
        found = []
        for ref in self.blob_columns:
            cls_name, _, attr = ref.partition(".")
            found.append(getattr(getattr(module, cls_name), attr))
        return found


def check_areas(areas: Sequence[Area]) -> None:
    """Refuse a list of areas that contradict each other or their own prefix (``AreaConflict``)."""
    names: dict[str, str] = {}
    prefixes: dict[str, str] = {}
    actions: dict[str, str] = {}
    replay_keys: dict[str, str] = {}
    subject_kinds: dict[str, str] = {}
    panels: dict[str, str] = {}
    for area in areas:
        if area.name in names:
            raise AreaConflict(f"area {area.name} is listed twice")
        names[area.name] = area.name
        if area.prefix in prefixes:
            raise AreaConflict(f"areas {prefixes[area.prefix]} and {area.name} share the prefix {area.prefix}")
        prefixes[area.prefix] = area.name
        for table in area.tables():
            if not table.startswith(area.prefix + "_"):
                raise AreaConflict(f"area {area.name}: table {table} does not start with {area.prefix}_")
        for bp in area.blueprints:
            if not area.owns_blueprint(bp.name):
                raise AreaConflict(f"area {area.name}: blueprint {bp.name} is not named {area.prefix} "
                                   f"or {area.prefix}_...")
        for bp in area.api_blueprints:
            if bp not in area.blueprints:
                raise AreaConflict(f"area {area.name}: API blueprint {bp.name} is not among its blueprints")
        for action in area.actions:
            other = actions.get(action.name)
            if other is not None:
                raise AreaConflict(f"audit action {action.name} is registered by {other} and {area.name}")
            actions[action.name] = area.name
        for key in area.replayers:
            other = replay_keys.get(key)
            if other is not None:
                raise AreaConflict(f"replay key {key} is folded by {other} and {area.name}")
            replay_keys[key] = area.name
        for kind in area.subject_kinds:
            other = subject_kinds.get(kind)
            if other is not None:
                raise AreaConflict(f"audit subject kind {kind} is claimed by {other} and {area.name}")
            subject_kinds[kind] = area.name
        for panel in area.desk:
            other = panels.get(panel.key)
            if other is not None:
                raise AreaConflict(f"desk panel {panel.key} is declared by {other} and {area.name}")
            panels[panel.key] = area.name
    for area in areas:  # an area may fold another's subjects (evaluation events in a tender's replay)
        for key, replayer in area.replayers.items():
            kind = getattr(replayer, "kind", None)
            if kind not in subject_kinds:
                raise AreaConflict(f"replay key {key} of area {area.name} folds subject kind {kind}, "
                                   f"which no area claims")


def check_urls(app: Any, areas: Sequence[Area]) -> None:
    """Refuse two areas answering the same URL and method (after their blueprints were registered)."""
    owner_of = {}
    for area in areas:
        for bp in area.blueprints:
            owner_of[bp.name] = area.name
    seen: dict[tuple[str, str], str] = {}
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.split(".")[0]
        owner = owner_of.get(blueprint)
        if owner is None:
            continue  # the static files, Flask's own
        for method in rule.methods or ():
            if method in ("HEAD", "OPTIONS"):
                continue
            other = seen.setdefault((rule.rule, method), owner)
            if other != owner:
                raise AreaConflict(f"{method} {rule.rule} is answered by areas {other} and {owner}")

