import os, sys, time, tempfile, collections, functools
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
call_command("migrate", verbosity=0, skip_checks=True)
from crm_sandbox.process import SandboxProcess
from integration import services
from integration.crm.client import CrmClient
from integration.models import ModuleConfig
from organizations.models import Organization
from sync import runner, applier, planner
T = collections.Counter()
def timed(mod, name, label=None):
    f = getattr(mod, name)
    @functools.wraps(f)
    def w(*a, **k):
        t=time.perf_counter()
        try: return f(*a, **k)
        finally: T[label or name]+=time.perf_counter()-t
    setattr(mod, name, w)
timed(applier, "load_page"); timed(planner, "plan"); timed(applier, "_write"); timed(applier, "_prepare"); timed(applier, "record_progress"); timed(applier, "retire_links")
timed(runner.Engine, "to_incoming"); timed(CrmClient, "get_json"); timed(applier.SyncIssue.objects.__class__, "bulk_create", "issues")
from customers.models import Customer
from sync.models import RecordLink
with tempfile.TemporaryDirectory() as folder:
    crm = SandboxProcess(folder+"/c.sqlite3", seed="demo", seed_size="accounts=10000,contacts=6000,vendors=0,products=0").start()
    org = Organization.objects.create(name="P", email="p@e.test", country="US", base_currency="USD")
    probe = CrmClient(api_domain=crm.base_url, accounts_url=crm.base_url, client_id=crm.client_id, client_secret=crm.client_secret, refresh_token=crm.refresh_token, allow_loopback=True)
    conn = services.connection_create(organization=org, user=None, crm_org=probe.org(), api_domain=crm.base_url, accounts_url=crm.base_url, client_id=crm.client_id, client_secret=crm.client_secret, refresh_token=crm.refresh_token)
    config = ModuleConfig.objects.create(connection=conn, module="customers", configured=True, crm_source="accounts_and_contacts", include_orphan_contacts=True)
    from django.db import connection as dbc
    Q = collections.Counter(); N = collections.Counter()
    def wrap(execute, sql, params, many, context):
        t0=time.perf_counter()
        try: return execute(sql, params, many, context)
        finally:
            key = sql.split(" ")[0] + " " + (sql.split('"')[1] if '"' in sql else "")
            Q[key]+=time.perf_counter()-t0; N[key]+=1
    t = time.time()
    with dbc.execute_wrapper(wrap):
        run = runner.run_now(module_config=config)
    for k,v in Q.most_common(12): print(f"SQL {k:50s} {v:.2f} {N[k]}")
    total = time.time()-t
    print(run.status, run.added, total, run.added/total)
    for k,v in T.most_common(): print(f"{k:20s} {v:.2f}")
    crm.stop()
