import json
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from crm_sandbox import seed as seeding
from crm_sandbox.store import Store

ROOT = Path(__file__).resolve().parents[2]


def _rows(path) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT id, module, created_time, modified_time, data FROM records ORDER BY id").fetchall()


def test_seed_command_makes_the_requested_sizes(tmp_path):
    data = tmp_path / "seeded.sqlite3"
    result = subprocess.run(
        [sys.executable, "-m", "crm_sandbox", "seed", "--data", str(data), "--seed-size", "accounts=500,contacts=30"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    counts = Counter(row[1] for row in _rows(data))
    assert counts == {"Accounts": 500, "Contacts": 30, "Vendors": 20, "Products": 60}


def test_bad_seed_size_is_refused(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "crm_sandbox", "seed", "--data", str(tmp_path / "x.sqlite3"), "--seed-size", "leads=5"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2 and "seed-size" in result.stderr
    with pytest.raises(ValueError):
        seeding.parse_sizes("accounts=many")


def test_demo_seed_is_deterministic_and_realistic(tmp_path):
    paths = [tmp_path / "a.sqlite3", tmp_path / "b.sqlite3"]
    for path in paths:
        store = Store(str(path))
        seeding.seed(store, "demo")
        store.close()
    first, second = (_rows(path) for path in paths)
    assert first == second
    by_module = {module: [json.loads(row[4]) for row in first if row[1] == module]
                 for module in ("Accounts", "Contacts", "Vendors", "Products")}
    assert {module.lower(): len(items) for module, items in by_module.items()} == seeding.DEMO_SIZES
    assert len({account["Account_Name"] for account in by_module["Accounts"]}) == 50
    orphans = [contact for contact in by_module["Contacts"] if "Account_Name" not in contact]
    assert 0 < len(orphans) < 150
    products = by_module["Products"]
    assert 0 < sum(1 for product in products if "Product_Code" in product) < 60
    assert {product["Product_Type"] for product in products} == {"Goods", "Services"}
    modified = Counter(row[3] for row in first)
    assert max(modified.values()) >= 5, "many records should share a Modified_Time second"
