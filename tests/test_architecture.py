"""The shape of the code the architecture page promises: imports in one direction (import-linter's
contracts in pyproject.toml, which `make lint` checks), sync's modules and every function small."""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["erp_crm", "demo", "organizations", "customers", "vendors", "items", "integration", "sync", "crm_sandbox"]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "pyproject.toml"], cwd=folder, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture
def tree(tmp_path) -> Path:
    """A copy of the product's packages and its import contracts."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_import_contracts_hold(tree):
    assert lint_imports(tree).returncode == 0


@pytest.mark.parametrize(("module", "added", "broken"), [
    ("customers/models.py", "def _links():\n    from sync.models import RecordLink\n\n    return RecordLink\n",
     "customers is not allowed to import sync"),
    ("sync/models.py", "def _enqueue():\n    from . import enqueue\n\n    return enqueue\n",
     "No cycles are allowed in sync"),
    ("integration/services.py", "from crm_sandbox import app as _sandbox  # noqa\n",
     "integration is not allowed to import crm_sandbox"),
], ids=["an-erp-app-imports-sync", "a-cycle-inside-sync", "the-product-imports-the-sandbox"])
def test_an_import_against_the_contracts_fails_make_lint(tree, module, added, broken):
    with (tree / module).open("a") as source:
        source.write("\n\n" + added)
    result = lint_imports(tree)
    assert result.returncode != 0
    assert broken in result.stdout


def _sources(*packages: str):
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def test_no_module_of_sync_is_over_400_lines():
    long = {str(p.relative_to(ROOT)): n for p in _sources("sync") if (n := len(p.read_text().splitlines())) > 400}
    assert long == {}


def test_no_function_of_the_product_is_over_60_lines():
    long = {}
    for path in _sources(*PACKAGES):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno - node.lineno >= 60:
                long[f"{path.relative_to(ROOT)}:{node.name}"] = node.end_lineno - node.lineno + 1
    assert long == {}
