"""The worker side of the crash tests, run as its own process so that it can be killed with SIGKILL:

    DATABASE_URL=... python -m tests.sync.crash_child setup '<json>'   -> prints the module config id
    DATABASE_URL=... python -m tests.sync.crash_child run <config id> [--stale]
    DATABASE_URL=... python -m tests.sync.crash_child instant <config id>  -> Instant Sync, run here
    DATABASE_URL=... python -m tests.sync.crash_child dump <config id> -> prints the ERP side as JSON

`run --stale` first ages the heartbeat of a run left "running" by a killed worker, as ten minutes of
silence would, so that the next run reclaims it (or, with --redeliver, takes the same run over, as
a redelivered Celery task does).
"""

from __future__ import annotations

import datetime
import json
import os
import sys


def main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "erp_crm.settings")
    import django

    django.setup()
    from django.utils import timezone

    from customers.models import ContactPerson, Customer
    from integration import services
    from integration.crm.client import CrmClient
    from integration.models import ModuleConfig
    from organizations.models import Organization
    from sync.engine import run as engine
    from sync.engine import slot
    from sync.models import RecordLink, SyncRun

    command = argv[0]
    if command == "setup":
        spec = json.loads(argv[1])
        organization = Organization.objects.create(name="Crash Co", email="crash@example.test",
                                                   country="United States", base_currency="USD")
        client = CrmClient(api_domain=spec["url"], accounts_url=spec["url"], client_id=spec["client_id"],
                           client_secret=spec["client_secret"], refresh_token=spec["refresh_token"],
                           allow_loopback=True)
        connection = services.connection_create(
            organization=organization, user=None, crm_org=client.org(), api_domain=spec["url"],
            accounts_url=spec["url"], client_id=spec["client_id"], client_secret=spec["client_secret"],
            refresh_token=spec["refresh_token"])
        Customer.objects.bulk_create(
            Customer(organization=organization, display_name=f"ERP customer {n:04d}", phone=f"+1 555 {n:04d}")
            for n in range(spec.get("erp_customers", 0)))
        config = ModuleConfig.objects.create(connection=connection, module="customers", configured=True,
                                             **spec["config"])
        print(config.pk)
        return 0

    config = ModuleConfig.objects.select_related("connection").get(pk=int(argv[1]))
    if command == "run":
        if "--stale" in argv:
            long_ago = timezone.now() - slot.STALE_AFTER - datetime.timedelta(seconds=1)
            SyncRun.objects.filter(module_config=config, status="running").update(heartbeat_at=long_ago)
        killed = SyncRun.objects.filter(module_config=config, status="running").first()
        client = services.client_for(config.connection, backoff_base=0.01, backoff_cap=0.05)
        if "--redeliver" in argv and killed is not None:
            run = engine.run_module(run_id=killed.pk, client=client)
        else:
            run = engine.run_now(module_config=config, trigger="instant", client=client)
        print(json.dumps({"status": run.status, "reason": run.failure_reason, "run": run.pk}))
        return 0

    if command == "instant":
        from django.db import transaction

        from sync import services as sync_services

        with transaction.atomic():
            run, started, message = sync_services.run_queue(module_config=config, trigger="instant")
        if not started:
            print(json.dumps({"status": "not started", "reason": message}))
            return 0
        client = services.client_for(config.connection, backoff_base=0.01, backoff_cap=0.05)
        run = engine.run_module(run_id=run.pk, client=client)
        print(json.dumps({"status": run.status, "reason": run.failure_reason, "run": run.pk}))
        return 0

    if command == "dump":
        fields = ["display_name", "customer_type", "phone", "website", "billing_city", "notes", "is_active",
                  "crm_linked"]
        customers = {c.pk: [getattr(c, f) for f in fields] for c in Customer.objects.all()}
        persons = {p.pk: [p.first_name, p.last_name, p.email, p.is_primary, customers[p.customer_id][0]]
                   for p in ContactPerson.objects.all()}
        rows = {"customer": customers, "contact_person": persons}
        links = sorted([link.crm_module, link.crm_id, link.erp_model, link.origin, rows[link.erp_model].pop(link.erp_id)]
                       for link in RecordLink.objects.filter(connection=config.connection))
        unlinked = sorted([model, values] for model, found in rows.items() for values in found.values())
        runs = list(SyncRun.objects.filter(module_config=config).order_by("pk").values_list("status", flat=True))
        reasons = list(SyncRun.objects.filter(module_config=config).order_by("pk").values_list("failure_reason",
                                                                                                 flat=True))
        print(json.dumps({"links": links, "unlinked": unlinked, "runs": runs, "reasons": reasons}))
        return 0
    raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
