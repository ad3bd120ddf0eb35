import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "erp_crm.settings")

app = Celery("erp_crm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
