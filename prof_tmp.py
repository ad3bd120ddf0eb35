import cProfile, pstats, os, sys, time, tempfile
sys.argv = ["x"]
os.environ["DATABASE_URL"]="postgres://postgres@127.0.0.1:5432/erp_bench_sync"
os.environ.setdefault("DJANGO_SETTINGS_MODULE","erp_crm.settings")
os.environ["CRM_ALLOW_LOOPBACK"]="1"; os.environ["LOG_LEVEL"]="WARNING"
from cryptography.fernet import Fernet
os.environ["FIELD_ENCRYPTION_KEY"]=Fernet.generate_key().decode()
sys.path.insert(0, "bench")
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
from sync import runner
with tempfile.TemporaryDirectory() as folder:
    crm = SandboxProcess(folder+"/c.sqlite3", seed="demo", seed_size="accounts=10000,contacts=6000,vendors=0,products=0").start()
    org = Organization.objects.create(name="P", email="p@e.test", country="US", base_currency="USD")
    probe = CrmClient(api_domain=crm.base_url, accounts_url=crm.base_url, client_id=crm.client_id, client_secret=crm.client_secret, refresh_token=crm.refresh_token, allow_loopback=True)
    conn = services.connection_create(organization=org, user=None, crm_org=probe.org(), api_domain=crm.base_url, accounts_url=crm.base_url, client_id=crm.client_id, client_secret=crm.client_secret, refresh_token=crm.refresh_token)
    config = ModuleConfig.objects.create(connection=conn, module="customers", configured=True, crm_source="accounts_and_contacts", include_orphan_contacts=True)
    t = time.time()
    prof = cProfile.Profile(); prof.enable()
    run = runner.run_now(module_config=config)
    prof.disable()
    print(run.status, run.added, time.time()-t)
    pstats.Stats(prof).sort_stats("tottime").print_stats(40)
    crm.stop()
