"""The seams between areas: the import layers (import-linter's contract in pyproject.toml), the areas list,
and the guardrails create_app applies to the areas it is given (core.area.check_areas, check_urls)."""
from __future__ import annotations

import ast
import dataclasses
import os
from pathlib import Path

import pytest
from flask import Blueprint

from audit.disclosure import Action
from audit.replay import Replayer
from audit.rules import Disclosure
from core.area import Area, AreaConflict, AreaNotLoaded, check_areas
from sunbid.areas import AREAS

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("core", "audit", "accounts", "tender", "experts", "ledger", "evaluation", "supervision", "sunbid")


def lint(config: Path | None = None) -> int:
    from importlinter.cli import lint_imports

    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        return lint_imports(config_filename=str(config) if config else None, no_cache=True, no_logo=True)
    finally:
        os.chdir(cwd)


def test_every_area_imports_only_its_own_and_lower_layers():
    assert lint() == 0  # the layers contract in pyproject.toml is kept (its report is printed above)


def test_the_layer_check_sees_real_imports(tmp_path):
    """The same linter on a contract that puts core above tender must find tender's imports of core."""
    config = tmp_path / "inverted.toml"
    config.write_text('[tool.importlinter]\nroot_packages = ["core", "tender"]\n\n[[tool.importlinter.contracts]]\n'
                      'name = "core above tender"\ntype = "layers"\nlayers = ["core", "tender"]\n')
    assert lint(config) == 1


def test_the_areas_list_names_every_area_once_and_lowest_first():
    names = [a.name for a in AREAS]
    assert len(set(names)) == len(names)
    declared = {p.parent.name for p in ROOT.glob("*/area.py")} - {"core"}  # core.area defines Area
    assert declared == set(names)  # every <area>/area.py is in the list, and nothing else
    order = [n for n in ("core", "audit", "accounts", "tender", "experts", "ledger", "evaluation", "supervision")
             if n in names]
    assert [n for n in names if n in order] == order
    check_areas(AREAS)


def test_only_the_composition_root_names_every_area():
    """No package but sunbid imports area declarations (``<area>.area``) other than its own."""
    for pkg in PACKAGES[:-1]:
        for path in (ROOT / pkg).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (isinstance(node, ast.ImportFrom) and node.module and node.module.endswith(".area")
                        and node.module != "core.area"):
                    assert node.module.split(".")[0] == pkg, f"{path.relative_to(ROOT)} imports {node.module}"


def recorded_by_package() -> dict[str, set[str]]:
    """Each package's audit actions, as its code passes them to audit.service.record."""
    found: dict[str, set[str]] = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            constants = {t.id: n.value.value for n in tree.body if isinstance(n, ast.Assign)
                         and isinstance(n.value, ast.Constant) and isinstance(n.value.value, str)
                         for t in n.targets if isinstance(t, ast.Name)}  # REGISTERED = "user...."
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "record":
                    for kw in node.keywords:
                        if kw.arg == "action":
                            found.setdefault(pkg, set()).update(
                                {c.value for c in ast.walk(kw.value) if isinstance(c, ast.Constant)
                                 and isinstance(c.value, str)}
                                | {constants[c.id] for c in ast.walk(kw.value)
                                   if isinstance(c, ast.Name) and c.id in constants})
    return found


HISTORICAL = {"user.age_recipient_set"}
"""Actions no code records any more that logs written before still hold (a custodian's key set without proof,
before migration 0006): registered so those entries keep their rule and label."""


def test_each_area_registers_exactly_the_actions_it_records():
    """An action recorded but not registered by its own area fails; so does a registered name nothing
    records (a name kept for an area still to come)."""
    recorded = recorded_by_package()
    assert {"bid.submitted", "user.logged_in", "witness.registered", "blobs.collected"} <= set().union(*recorded.values())
    for area in AREAS:
        declared = {a.name for a in area.actions}
        assert sorted(recorded.get(area.name, set()) - declared) == [], f"{area.name} records unregistered actions"
        assert sorted(declared - recorded.get(area.name, set()) - HISTORICAL) == [], \
            f"{area.name} registers unused actions"


def test_key_acts_are_registered_with_their_action():
    from sunbid.app import Platform
    from core.config import Settings

    platform = Platform(Settings(database_url="sqlite://", data_dir=Path("/nonexistent")), areas=AREAS)
    assert platform.audit_actions.key_actions == {"tender.published", "tender.cancelled", "bid.opened",
                                                  "opening.completed"}
    assert set(platform.audit_actions.replayers) == {"tender"}
    assert platform.audit_actions.subject_kinds == {"tender", "expert", "ledger"}


# ---------------------------------------------------------------- guardrails, each refusing a broken area


def extra(**fields) -> list[Area]:
    return [*AREAS, Area(name="example", **fields)]


def test_refuses_a_table_without_the_area_prefix():
    import tests.example_area.unprefixed_models  # noqa: F401

    with pytest.raises(AreaConflict, match="table note does not start with example_"):
        check_areas(extra(models="tests.example_area.unprefixed_models"))
    import tests.example_area.models  # noqa: F401

    check_areas(extra(models="tests.example_area.models"))  # example_note is fine


def test_refuses_a_blueprint_named_otherwise():
    with pytest.raises(AreaConflict, match="blueprint samples"):
        check_areas(extra(blueprints=(Blueprint("samples", __name__),)))
    with pytest.raises(AreaConflict, match="blueprint tender_extra"):  # another area's name
        check_areas(extra(blueprints=(Blueprint("tender_extra", __name__),)))
    check_areas(extra(blueprints=(Blueprint("example", __name__), Blueprint("example_api", __name__))))


def test_refuses_an_action_another_area_registers():
    with pytest.raises(AreaConflict, match="tender.published is registered by tender and example"):
        check_areas(extra(actions=(Action("tender.published", Disclosure.PUBLIC),)))


def _replayer(kind: str) -> Replayer:
    return Replayer(fold=lambda entries, now: {}, snapshot=lambda s, i, now: None, diff=lambda a, b: [], kind=kind)


def test_refuses_a_replay_key_another_area_folds():
    fold = _replayer("tender")
    with pytest.raises(AreaConflict, match="replay key tender is folded by tender and example"):
        check_areas(extra(replayers={"tender": fold}))
    check_areas(extra(replayers={"example": fold}))  # its own part of a tender's replay


def test_refuses_a_subject_kind_another_area_claims():
    with pytest.raises(AreaConflict, match="audit subject kind tender is claimed by tender and example"):
        check_areas(extra(subject_kinds=("tender",)))
    with pytest.raises(AreaConflict, match="audit subject kind note is claimed by example and example"):
        check_areas(extra(subject_kinds=("note", "note")))
    check_areas(extra(subject_kinds=("note", "notebook")))


def test_refuses_a_replayer_of_a_kind_no_area_claims():
    with pytest.raises(AreaConflict, match="replay key notes of area example folds subject kind notebook, which "
                                           "no area claims"):
        check_areas(extra(replayers={"notes": _replayer("notebook")}))
    check_areas(extra(subject_kinds=("notebook",), replayers={"notes": _replayer("notebook")}))


def test_the_app_refuses_a_subject_kind_twice_or_malformed():
    from audit.disclosure import Actions

    actions = Actions()
    actions.claim_subject_kinds("tender", "bank_statement")
    with pytest.raises(ValueError, match="tender is claimed twice"):
        actions.claim_subject_kinds("tender")
    for bad in ("", "Tender", "tender kind", "x" * 33, 7):
        with pytest.raises(ValueError, match="not a short lowercase name"):
            actions.claim_subject_kinds(bad)  # type: ignore[arg-type]
    assert actions.subject_kinds == {"tender", "bank_statement"}


def test_refuses_a_prefix_or_name_twice():
    with pytest.raises(AreaConflict, match="share the prefix core"):
        check_areas(extra(prefix="core"))
    with pytest.raises(AreaConflict, match="listed twice"):
        check_areas([*AREAS, AREAS[-1]])


def test_refuses_a_url_another_area_answers(tmp_path):
    from core.config import Settings
    from sunbid.app import create_app

    bp = Blueprint("example", __name__)
    bp.add_url_rule("/login", "login", lambda: "mine", methods=["POST"])
    settings = Settings(database_url="sqlite://", data_dir=tmp_path, testing=True)
    with pytest.raises(AreaConflict, match="POST /login is answered by areas accounts and example"):
        create_app(settings, areas=extra(blueprints=(bp,)))
    other = Blueprint("example", __name__)
    other.add_url_rule("/example/login", "login", lambda: "mine", methods=["POST"])
    create_app(settings, areas=extra(blueprints=(other,)))


def test_the_collector_refuses_an_area_whose_models_were_not_loaded():
    from sunbid.maintenance import references

    area = Area(name="example", models="tests.example_area.never_loaded", blob_columns=("Note.sha256",))
    with pytest.raises(AreaNotLoaded, match="never_loaded was not loaded"):
        references([*AREAS, area])
    assert len(references(AREAS)) == 3  # tender's documents and bids, the signed PDFs the platform issued


def test_an_area_is_a_frozen_declaration():
    with pytest.raises(dataclasses.FrozenInstanceError):
        AREAS[0].name = "other"  # type: ignore[misc]


def misplaced_tests(root: Path) -> list[str]:
    """Test modules of ``root``/tests/{unit,integration} that are not in the folder of an area (or core), which is
    how the tests are laid out (docs/development.md, Tests)."""
    areas = {a.name for a in AREAS} | {"core"}
    found = []
    for kind in ("unit", "integration"):
        for path in sorted((root / "tests" / kind).rglob("test_*.py")):
            parts = path.relative_to(root / "tests" / kind).parts
            if len(parts) != 2 or parts[0] not in areas or not (path.parent / "__init__.py").exists():
                found.append(str(path.relative_to(root)))
    return found


def test_tests_are_laid_out_by_area(tmp_path):
    assert misplaced_tests(ROOT) == []
    for where in ("unit/test_loose.py", "integration/nowhere/test_x.py"):  # the check can fail
        (tmp_path / "tests" / where).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "tests" / where).write_text("")
    (tmp_path / "tests" / "integration" / "nowhere" / "__init__.py").write_text("")
    assert misplaced_tests(tmp_path) == ["tests/unit/test_loose.py", "tests/integration/nowhere/test_x.py"]
