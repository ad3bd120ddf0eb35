import os, time
os.environ["DATABASE_URL"]="postgres://postgres@127.0.0.1:5432/erp_bench_sync"
os.environ.setdefault("DJANGO_SETTINGS_MODULE","erp_crm.settings")
from cryptography.fernet import Fernet
os.environ["FIELD_ENCRYPTION_KEY"]=Fernet.generate_key().decode()
import django; django.setup()
from django.db import transaction, connection
from django.utils import timezone
from customers.models import Customer
from organizations.models import Organization
org = Organization.objects.first()
def make(n):
    return [Customer(organization=org, display_name=f"X {n} {i}", phone="+1 555 1234", website="www.x.test", billing_street="1 Main", billing_city="Boston", billing_state="MA", billing_zip="02110", billing_country="United States", shipping_street="1 Main", shipping_city="Boston", shipping_state="MA", shipping_zip="02110", shipping_country="United States", notes="hello", custom_fields={}) for i in range(200)]
import cProfile, pstats
objs = make(99)
prof = cProfile.Profile(); prof.enable()
for attempt in range(5):
    objs = make(attempt)
    with transaction.atomic():
        Customer.objects.bulk_create(objs)
prof.disable()
pstats.Stats(prof).sort_stats("tottime").print_stats(12)
# COPY
fields = [f for f in Customer._meta.concrete_fields]
t=time.perf_counter()
for attempt in range(5):
    objs = make(attempt+10)
    now = timezone.now()
    for o in objs: o.created_at = o.updated_at = now
    with transaction.atomic():
        with connection.cursor() as c:
            c.execute("SELECT nextval(pg_get_serial_sequence('customers_customer','id')) FROM generate_series(1, %s)", [len(objs)])
            ids = [r[0] for r in c.fetchall()]
            for o, i in zip(objs, ids): o.id = i
            cols = [f.column for f in fields]
            with c.cursor.copy(f"COPY customers_customer ({','.join(cols)}) FROM STDIN") as cp:
                for o in objs:
                    cp.write_row([f.get_db_prep_save(getattr(o, f.attname), connection) for f in fields])
print("copy x5", time.perf_counter()-t)
t=time.perf_counter()
for attempt in range(5):
    objs = make(attempt+20)
    with transaction.atomic():
        Customer.objects.bulk_create(objs)
print("bulk x5", time.perf_counter()-t)
