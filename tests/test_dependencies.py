"""Dependency floors above versions with known advisories, a lock file that satisfies them, an SPDX
license, and Celery task events for Flower."""

import tomllib
from pathlib import Path

from django.conf import settings
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
FLOORS = {"django": "5.2.19", "requests": "2.32.4", "gunicorn": "23", "cryptography": "44.0.1"}


def test_floors_lock_file_and_license():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "AGPL-3.0-or-later"  # an SPDX string, not a table
    wanted = {Requirement(r).name.lower(): Requirement(r) for r in project["dependencies"]}
    for name, floor in FLOORS.items():
        assert not wanted[name].specifier.contains(_below(floor)), name
        assert wanted[name].specifier.contains(floor), name
    pinned = dict(line.split("==") for line in (ROOT / "requirements.lock").read_text().splitlines()
                  if "==" in line and not line.startswith("#"))
    pinned = {name.lower(): version.strip() for name, version in pinned.items()}
    for name, requirement in wanted.items():
        locked = pinned.get(name) or pinned[name.replace("_", "-")]
        assert requirement.specifier.contains(locked), (name, locked)


def _below(version: str) -> str:
    parts = list(Version(version).release)
    parts[-1] -= 1
    return ".".join(map(str, parts))


def test_celery_sends_task_events_for_flower():
    assert settings.CELERY_WORKER_SEND_TASK_EVENTS and settings.CELERY_TASK_SEND_SENT_EVENT
