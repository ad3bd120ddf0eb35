import os, time
os.environ["DATABASE_URL"]="postgres://postgres@127.0.0.1:5432/erp_bench_sync"
os.environ.setdefault("DJANGO_SETTINGS_MODULE","erp_crm.settings")
from cryptography.fernet import Fernet
os.environ["FIELD_ENCRYPTION_KEY"]=Fernet.generate_key().decode()
import django; django.setup()
from django.db import transaction, connection
from django.db.models import Value, JSONField
from django.utils import timezone
from sync.models import RecordLink
from integration.models import CrmConnection
cid = CrmConnection.objects.values_list("pk", flat=True).first()
snap = {"display_name": "Northwind Traders Inc. 12", "phone": "+1 555 1234", "website": "www.northwind.test", "billing_street": "12 Main Street", "billing_city": "Boston", "billing_state": "MA", "billing_zip": "02110", "billing_country": "United States", "shipping_street": "", "shipping_city": "", "shipping_state": "", "shipping_zip": "", "shipping_country": "", "notes": "", "_owner": "5843104000000424672"}
n0 = [900000000]
def make(wrap=False):
    out = []
    for i in range(200):
        n0[0]+=1
        s = dict(snap)
        out.append(RecordLink(connection_id=cid, crm_module="Bench", crm_id=str(n0[0]), erp_model="bench", erp_id=n0[0], origin="crm", synced_snapshot=Value(s, output_field=JSONField()) if wrap else s, crm_modified_time=timezone.now()))
    return out
for wrap in (False, True, False, True):
    t=time.perf_counter()
    for k in range(5):
        objs = make(wrap)
        with transaction.atomic():
            RecordLink.objects.bulk_create(objs)
    print("wrap" if wrap else "unnest", (time.perf_counter()-t)/5*1000, "ms per 200")
RecordLink.objects.filter(crm_module="Bench").delete()
