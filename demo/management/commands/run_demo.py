"""`make demo`: migrate, make a demo organization with an admin, then run web, worker and beat together.

Ctrl-C stops every process it started.
"""

import os
import secrets
import signal
import subprocess
import sys
import time

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from crm_sandbox.app import DEFAULT_CLIENT_ID as SANDBOX_CLIENT_ID
from crm_sandbox.app import DEFAULT_CLIENT_SECRET as SANDBOX_CLIENT_SECRET
from demo.services import demo_connect
from organizations.models import Organization
from organizations.services import member_create, organization_create

DEMO_ORG = "Demo Company"
DEMO_USER = "admin"


class Command(BaseCommand):
    help = "Run the whole product locally: web server, Celery worker and beat, with a demo organization."

    def handle(self, *args, **options):
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        call_command("migrate", verbosity=0)
        password = self.ensure_demo_organization()
        port = os.environ.get("PORT", "8000")
        python = sys.executable
        sandbox_port = os.environ.get("CRM_SANDBOX_PORT", "8765")
        sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        # The demo, and only the demo, talks to the CRM sandbox on loopback.
        demo_env = {
            "CRM_ALLOW_LOOPBACK": "1",
            "ZOHO_ACCOUNTS_URL": sandbox_url,
            "ZOHO_CLIENT_ID": SANDBOX_CLIENT_ID,
            "ZOHO_CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
        }
        os.environ.update(demo_env)
        settings.CRM_ALLOW_LOOPBACK = True
        settings.ZOHO_ACCOUNTS_URL = sandbox_url
        settings.ZOHO_CLIENT_ID = SANDBOX_CLIENT_ID
        settings.ZOHO_CLIENT_SECRET = SANDBOX_CLIENT_SECRET
        commands = {
            "crm-sandbox": [
                python, "-m", "crm_sandbox", "serve", "--port", sandbox_port,
                "--data", str(settings.VAR_DIR / "crm-sandbox.sqlite3"), "--seed", "demo",
            ],
            "web": [python, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            "worker": [python, "-m", "celery", "-A", "erp_crm", "worker", "--pool=solo", "--loglevel=INFO"],
            "beat": [
                python, "-m", "celery", "-A", "erp_crm", "beat", "--loglevel=INFO",
                "--schedule", str(settings.VAR_DIR / "celerybeat-schedule"),
            ],
        }
        self.stdout.write(self.style.SUCCESS(
            f"\nOpen http://127.0.0.1:{port}/ and log in as {DEMO_USER} / {password}\n"
            f"The Zoho CRM sandbox answers at {sandbox_url} (Settings → Zoho Apps → Connect uses it).\n"
        ))
        # `kill` (SIGTERM) stops the demo as cleanly as Ctrl-C does.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        processes = {name: subprocess.Popen(cmd, env=os.environ.copy()) for name, cmd in commands.items()}
        try:
            self.connect_demo(sandbox_url)
            while True:
                for name, process in processes.items():
                    if process.poll() is not None:
                        self.stderr.write(f"{name} stopped with exit code {process.returncode}; stopping the rest.")
                        raise KeyboardInterrupt
                time.sleep(1)
        except KeyboardInterrupt:
            pass
        finally:
            for process in processes.values():
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in processes.values():
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
            self.stdout.write("Demo stopped.")

    def connect_demo(self, sandbox_url: str) -> None:
        """Connect the demo organization to the sandbox, configure the three modules and sync them once,
        so the first visit shows CRM customers, contact persons, vendors, items and a sync history."""
        for _ in range(100):
            try:
                requests.get(f"{sandbox_url}/__sandbox__/health", timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.1)
        organization = Organization.objects.get(name=DEMO_ORG)
        try:
            with open(os.devnull, "w") as devnull:
                for line in demo_connect(organization=organization, sandbox_url=sandbox_url, quiet={"stdout": devnull}):
                    self.stdout.write(line)
        except Exception as error:  # noqa: BLE001 - the demo still runs; connecting by hand works too
            self.stderr.write(f"The demo could not connect to the CRM sandbox by itself ({error}); "
                              "use Settings → Zoho Apps → Connect.")

    def ensure_demo_organization(self) -> str:
        """Create the demo organization and admin once; the admin's password is kept under var/."""
        password_file = settings.VAR_DIR / "demo-admin-password"
        organization = Organization.objects.filter(name=DEMO_ORG).first()
        if organization is None:
            organization = organization_create(
                name=DEMO_ORG, email="finance@demo-company.example", country="United States", base_currency="USD"
            )
        if not password_file.exists():
            password_file.write_text(secrets.token_urlsafe(9))
            password_file.chmod(0o600)
        password = password_file.read_text().strip()
        known = get_user_model().objects.filter(username=DEMO_USER).exists()
        user = member_create(organization=organization, username=DEMO_USER, role="admin",
                             password=None if known else password).user
        if not user.check_password(password):
            user.set_password(password)
            user.save(update_fields=["password"])
        call_command("demo_data", org=DEMO_ORG)
        return password
