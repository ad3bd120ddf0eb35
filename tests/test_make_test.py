"""`make test` on a fresh machine: Chromium for the browser tests is installed when it is missing and the
machine lets us (root, Debian's apt-get), else make stops at once saying what to run. Never skipped."""

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "ensure-chromium"


def fake_machine(folder: Path, *, uid: int, apt_works: bool = True) -> Path:
    """A PATH holding only `id` and `apt-get` stand-ins; apt-get leaves a chromium behind when it works."""
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    (bin_dir / "id").write_text(f"#!/bin/sh\necho {uid}\n")
    chromium = bin_dir / "chromium"
    install = f"printf '#!/bin/sh\\n' > {chromium}; /bin/chmod +x {chromium}" if apt_works else "exit 100"
    (bin_dir / "apt-get").write_text(f'#!/bin/sh\necho "$@" >> {folder / "apt.log"}\n'
                                     f'case "$1" in install) {install};; esac\n')
    for tool in ("id", "apt-get"):
        (bin_dir / tool).chmod(0o755)
    return bin_dir


def run(bin_dir: Path, **env) -> subprocess.CompletedProcess:
    return subprocess.run(["/bin/sh", str(SCRIPT)], env={"PATH": str(bin_dir), **env}, capture_output=True,
                          text=True, timeout=30)


def test_chromium_already_there_needs_nothing(tmp_path):
    bin_dir = fake_machine(tmp_path, uid=1000)
    present = tmp_path / "my-chromium"
    present.write_text("#!/bin/sh\n")
    present.chmod(0o755)
    assert run(bin_dir, CHROMIUM_PATH=str(present)).returncode == 0
    assert not (tmp_path / "apt.log").exists()


def test_as_root_a_missing_chromium_is_installed_from_debian(tmp_path):
    bin_dir = fake_machine(tmp_path, uid=0)
    done = run(bin_dir)
    assert done.returncode == 0, done.stderr
    assert "install -y -qq chromium" in (tmp_path / "apt.log").read_text()
    assert (bin_dir / "chromium").exists()


def test_without_root_it_stops_at_once_with_the_command_to_run(tmp_path):
    bin_dir = fake_machine(tmp_path, uid=1000)
    stopped = run(bin_dir)
    assert stopped.returncode != 0
    assert "sudo apt-get install -y chromium" in stopped.stderr
    assert not (tmp_path / "apt.log").exists()


def test_a_failed_install_stops_make_test(tmp_path):
    bin_dir = fake_machine(tmp_path, uid=0, apt_works=False)
    stopped = run(bin_dir)
    assert stopped.returncode != 0 and "apt-get install -y chromium" in stopped.stderr


def test_make_test_runs_the_check_before_pytest():
    recipe = subprocess.run(["make", "-n", "test"], cwd=ROOT, capture_output=True, text=True, timeout=60).stdout
    lines = recipe.splitlines()
    check = next(n for n, line in enumerate(lines) if "scripts/ensure-chromium" in line)
    tests = next(n for n, line in enumerate(lines) if "-m pytest" in line)
    assert check < tests
