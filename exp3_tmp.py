import os, sys, time, tempfile
os.environ["DATABASE_URL"]="postgres://postgres@127.0.0.1:5432/erp_bench_sync"
os.environ.setdefault("DJANGO_SETTINGS_MODULE","erp_crm.settings")
os.environ["CRM_ALLOW_LOOPBACK"]="1"; os.environ["LOG_LEVEL"]="WARNING"
from cryptography.fernet import Fernet
os.environ["FIELD_ENCRYPTION_KEY"]=Fernet.generate_key().decode()
import importlib.util
spec = importlib.util.spec_from_file_location("benchsync", "bench/sync.py"); b = importlib.util.module_from_spec(spec); spec.loader.exec_module(b)
b.prepare_database(os.environ["DATABASE_URL"])
import django; django.setup()
from django.core.management import call_command
from django.db import connection as dbc
call_command("migrate", verbosity=0, skip_checks=True)
if os.environ.get("NOGIN"):
    with dbc.cursor() as c:
        for name in ("customer_company_name_trgm","customer_display_name_trgm","customer_email_trgm"):
            c.execute(f"DROP INDEX IF EXISTS {name}")
from crm_sandbox.process import SandboxProcess
from integration import services
from integration.crm.client import CrmClient
from integration.models import ModuleConfig
from organizations.models import Organization
from sync import runner
from sync.models import SyncRun
import threading
with tempfile.TemporaryDirectory() as folder:
    crm = SandboxProcess(folder+"/c.sqlite3", seed="demo", seed_size=os.environ.get("SIZES","accounts=60000,contacts=40000")+",vendors=0,products=0", start_timeout=900).start()
    org = Organization.objects.create(name="P", email="p@e.test", country="US", base_currency="USD")
    probe = CrmClient(api_domain=crm.base_url, accounts_url=crm.base_url, client_id=crm.client_id, client_secret=crm.client_secret, refresh_token=crm.refresh_token, allow_loopback=True)
    conn = services.connection_create(organization=org, user=None, crm_org=probe.org(), api_domain=crm.base_url, accounts_url=crm.base_url, client_id=crm.client_id, client_secret=crm.client_secret, refresh_token=crm.refresh_token)
    config = ModuleConfig.objects.create(connection=conn, module="customers", configured=True, crm_source="accounts_and_contacts", include_orphan_contacts=True)
    stop = threading.Event(); samples=[]
    def sample():
        last=(time.time(),0)
        while not stop.wait(10):
            r = SyncRun.objects.order_by("-pk").first()
            now=time.time(); d = r.progress_done if r else 0
            samples.append(f"{d}: {(d-last[1])/(now-last[0]):.0f}/s"); last=(now,d)
    th=threading.Thread(target=sample, daemon=True); th.start()
    t = time.time()
    run = runner.run_now(module_config=config)
    total = time.time()-t; stop.set()
    print("NOGIN" if os.environ.get("NOGIN") else "GIN", run.status, run.added, f"{total:.1f}s", f"{run.added/total:.0f}/s")
    print(samples)
    crm.stop()
