"""The sync pages: status with progress, instant sync, pause/resume, history with issues, re-sync, delete."""

import pytest
from django.urls import reverse

from customers.models import Customer
from integration.models import ConnectionStatus, ModuleConfig
from organizations.models import Notification
from sync import enqueue, services
from sync.models import RecordLink, SyncIssue, SyncRun
from tests.factories import (
    CrmConnectionFactory,
    CustomerFactory,
    InvoiceFactory,
    ModuleConfigFactory,
    VendorFactory,
)


@pytest.fixture
def connection(actors):
    """The pages read and write only this side: a connection made directly, no CRM behind it."""
    return CrmConnectionFactory(organization=actors.organization)


@pytest.fixture(autouse=True)
def _revoking_at_zoho_succeeds(monkeypatch):
    """Deleting the integration revokes its refresh token at Zoho, and no Zoho is behind these connections:
    the revocation is taken as done (test_delete_revokes.py has it against the sandbox)."""
    monkeypatch.setattr(services, "connection_revoke", lambda *, connection: True)


@pytest.fixture
def customers_config(connection):
    return ModuleConfigFactory(connection=connection, module="customers")


def test_status_page_shows_live_progress_and_the_last_outcome(actors, customers_config):
    SyncRun.objects.create(module_config=customers_config, trigger="scheduled", status="partial", added=3,
                           failed=1)
    SyncRun.objects.create(module_config=customers_config, trigger="instant", status="running",
                           progress_done=400, progress_total=1000)
    client = actors.client_for(actors.ops)
    page = client.get(reverse("sync:status", args=["customers"])).content.decode()
    assert "400 of 1000 records done" in page and "3 added" in page and "1 failed" in page
    assert 'hx-trigger="every 2s"' in page
    partial = client.get(reverse("sync:status", args=["customers"]), HTTP_HX_REQUEST="true").content.decode()
    assert "400 of 1000 records done" in partial and "<html" not in partial


def test_pause_and_resume(actors, customers_config):
    client = actors.client_for(actors.admin)
    client.post(reverse("sync:pause", args=["customers"]))
    customers_config.refresh_from_db()
    assert customers_config.paused
    page = client.get(reverse("sync:status", args=["customers"])).content.decode()
    assert "Sync is paused" in page
    run, started, message = enqueue.sync_now(module_config=customers_config, trigger="instant")
    assert (run, started) == (None, False) and "paused" in message
    client.post(reverse("sync:resume", args=["customers"]))
    customers_config.refresh_from_db()
    assert not customers_config.paused and customers_config.next_run_at is not None


def test_a_metrics_push_at_work_does_not_hold_up_instant_sync(actors, customers_config):
    SyncRun.objects.create(module_config=customers_config, trigger="metrics", status="queued")

    response = actors.client_for(actors.admin).post(reverse("sync:instant", args=["customers"]), follow=True)

    assert "Sync started." in response.content.decode()
    assert SyncRun.objects.filter(module_config=customers_config, trigger="instant", status="queued").count() == 1
    again = actors.client_for(actors.admin).post(reverse("sync:instant", args=["customers"]), follow=True)
    assert "already in progress" in again.content.decode()


def test_a_disabled_connection_refuses_instant_sync(actors, customers_config, connection):
    connection.status = ConnectionStatus.DISABLED
    connection.save()
    response = actors.client_for(actors.admin).post(reverse("sync:instant", args=["customers"]), follow=True)
    assert "The Zoho CRM integration is disabled." in response.content.decode()
    assert not SyncRun.objects.exists()


def test_history_lists_runs_filtered_by_module_and_status(actors, customers_config, connection):
    vendors = ModuleConfigFactory(connection=connection, module="vendors")
    SyncRun.objects.create(module_config=customers_config, trigger="initial", status="succeeded", added=12)
    SyncRun.objects.create(module_config=vendors, trigger="scheduled", status="failed",
                           failure_reason="Zoho refused to refresh the access token")
    client = actors.client_for(actors.ops)
    everything = client.get(reverse("sync:history"))
    assert len(everything.context["state"].page) == 2
    assert "Zoho refused to refresh the access token" in everything.content.decode()
    assert "Records synced per run" in everything.content.decode()
    failed = client.get(reverse("sync:history"), {"view": "failed"}).context["state"].page
    assert [r.module_config.module for r in failed] == ["vendors"]
    only_customers = client.get(reverse("sync:history"), {"module": "customers"}).context["state"].page
    assert [r.added for r in only_customers] == [12]


def test_a_run_shows_its_issues_escaped(actors, customers_config):
    run = SyncRun.objects.create(module_config=customers_config, trigger="initial", status="partial", failed=1,
                                 conflicts=1)
    customer = CustomerFactory(organization=actors.organization)
    SyncIssue.objects.create(run=run, kind="error", crm_module="Accounts", crm_id="58431040001",
                             message="Display name is too long (300 characters; at most 255).")
    SyncIssue.objects.create(run=run, kind="conflict", crm_module="Accounts", crm_id="58431040002",
                             erp_model="customer", erp_id=customer.pk, field="phone",
                             message="Changed on both sides; the CRM's value was kept.",
                             crm_value="<script>alert(1)</script>", erp_value="+1 555 0100")
    page = actors.client_for(actors.ops).get(reverse("sync:run", args=[run.pk])).content.decode()
    assert "58431040001" in page and "too long" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    assert reverse("customers:detail", args=[customer.pk]) in page


def test_another_organizations_runs_are_invisible(actors, customers_config):
    run = SyncRun.objects.create(module_config=customers_config, trigger="initial", status="succeeded")
    client = actors.client_for(actors.outsider)
    assert client.get(reverse("sync:run", args=[run.pk])).status_code == 404
    assert client.get(reverse("sync:status", args=["customers"])).status_code == 404
    assert len(client.get(reverse("sync:history")).context["state"].page) == 0


@pytest.mark.parametrize("name", ["instant", "pause", "resume"])
@pytest.mark.parametrize("role", ["finance", "ops"])
def test_only_admins_control_syncs(actors, customers_config, name, role):
    response = actors.client_for(getattr(actors, role)).post(reverse(f"sync:{name}", args=["customers"]))
    assert response.status_code == 403


def test_resync_is_offered_only_for_linked_records(actors, connection):
    linked = CustomerFactory(organization=actors.organization)
    plain = CustomerFactory(organization=actors.organization)
    RecordLink.objects.create(connection=connection, crm_module="Accounts", crm_id="1", erp_model="customer",
                              erp_id=linked.pk, origin="crm")
    client = actors.client_for(actors.finance)
    assert "Re-sync from CRM" in client.get(reverse("customers:detail", args=[linked.pk])).content.decode()
    assert "Re-sync from CRM" not in client.get(reverse("customers:detail", args=[plain.pk])).content.decode()
    assert client.post(reverse("sync:resync", args=["customer", plain.pk])).status_code == 404
    assert actors.client_for(actors.ops).post(reverse("sync:resync", args=["customer", linked.pk])).status_code == 403


def test_delete_integration_needs_a_disabled_connection(actors, connection):
    client = actors.client_for(actors.admin)
    response = client.get(reverse("sync:delete_integration"), follow=True)
    assert "Disable the integration before deleting it." in response.content.decode()


@pytest.mark.parametrize("mode", ["all", "with_transactions"])
def test_deleting_the_integration_keeps_the_chosen_records(actors, connection, customers_config, mode):
    with_invoice = CustomerFactory(organization=actors.organization, display_name="Has invoice")
    InvoiceFactory(customer=with_invoice)
    without = CustomerFactory(organization=actors.organization, display_name="No invoice")
    own = CustomerFactory(organization=actors.organization, display_name="Made here")
    vendor = VendorFactory(organization=actors.organization)
    for index, (record, model, origin) in enumerate(
        [(with_invoice, "customer", "crm"), (without, "customer", "crm"), (own, "customer", "erp"),
         (vendor, "vendor", "crm")]
    ):
        RecordLink.objects.create(connection=connection, crm_module="Accounts", crm_id=str(index),
                                  erp_model=model, erp_id=record.pk, origin=origin)
    counts = services.integration_delete(connection=connection, mode=mode)
    names = set(Customer.objects.values_list("display_name", flat=True))
    if mode == "all":
        assert names == {"Has invoice", "No invoice", "Made here"}
        assert counts == {"kept": 3, "deleted": 0, "revoked": True}
    else:
        assert names == {"Has invoice", "Made here"} and counts == {"kept": 1, "deleted": 2, "revoked": True}
    assert not RecordLink.objects.exists() and not ModuleConfig.objects.exists()
    assert not actors.organization.crm_connections.exists()


def test_delete_integration_runs_in_the_background_and_notifies(actors, connection, django_capture_on_commit_callbacks,
                                                              settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from erp_crm.celery import app

    app.conf.task_always_eager = True
    try:
        connection.status = ConnectionStatus.DISABLED
        connection.save()
        client = actors.client_for(actors.admin)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("sync:delete_integration"), {"mode": "all", "confirm": "on"})
        assert response.status_code == 302
    finally:
        app.conf.task_always_eager = False
    assert not actors.organization.crm_connections.exists()
    assert Notification.objects.filter(user=actors.admin, message__contains="integration was deleted").exists()


def test_delete_integration_shows_what_each_choice_keeps_and_deletes_before_it_is_confirmed(actors, connection):
    with_invoice = CustomerFactory(organization=actors.organization)
    InvoiceFactory(customer=with_invoice)
    without = CustomerFactory(organization=actors.organization)
    made_here = CustomerFactory(organization=actors.organization)
    vendor = VendorFactory(organization=actors.organization)
    for index, (record, model, origin) in enumerate([(with_invoice, "customer", "crm"), (without, "customer", "crm"),
                                                     (made_here, "customer", "erp"), (vendor, "vendor", "crm")]):
        RecordLink.objects.create(connection=connection, crm_module="Accounts", crm_id=str(index), erp_model=model,
                                  erp_id=record.pk, origin=origin)
    connection.status = ConnectionStatus.DISABLED
    connection.save()

    page = actors.client_for(actors.admin).get(reverse("sync:delete_integration"))

    preview = dict((mode, counts) for mode, _, counts in page.context["preview"])
    assert preview["all"] == [(2, 0), (1, 0), (0, 0)]
    assert preview["with_transactions"] == [(1, 1), (0, 1), (0, 0)]
    text = page.content.decode()
    assert 'data-testid="preview-with_transactions"' in text and "<strong>1 deleted</strong>" in text
    assert Customer.objects.count() == 3  # nothing happened yet


def test_the_sync_history_outlives_the_integration(actors, connection, customers_config):
    run = SyncRun.objects.create(module_config=customers_config, trigger="initial", status="partial", added=5,
                                 failed=1)
    SyncIssue.objects.create(run=run, kind="error", crm_module="Accounts", crm_id="1", message="Name is required.")

    services.integration_delete(connection=connection, mode="all")

    client = actors.client_for(actors.ops)
    history = client.get(reverse("sync:history"))
    assert [r.pk for r in history.context["state"].page] == [run.pk]
    assert "Customers" in history.content.decode()
    detail = client.get(reverse("sync:run", args=[run.pk])).content.decode()
    assert "Name is required." in detail
    assert client.get(reverse("sync:history"), {"module": "customers"}).context["state"].page.paginator.count == 1
    assert actors.client_for(actors.outsider).get(reverse("sync:run", args=[run.pk])).status_code == 404


def test_the_deletion_notification_reads_as_a_sentence(actors, connection):
    customer = CustomerFactory(organization=actors.organization)
    RecordLink.objects.create(connection=connection, crm_module="Accounts", crm_id="1", erp_model="customer",
                              erp_id=customer.pk, origin="crm")
    services.integration_delete(connection=connection, mode="all", notify=actors.admin)
    message = Notification.objects.get(user=actors.admin).message
    assert message == ("The Zoho CRM integration was deleted. Of the records that came from the CRM, 1 record was kept "
                       "and 0 records were deleted.")


def test_the_status_page_counts_in_words(actors, customers_config):
    SyncRun.objects.create(module_config=customers_config, trigger="instant", status="running", progress_done=1)
    page = actors.client_for(actors.ops).get(reverse("sync:status", args=["customers"])).content.decode()
    assert "1 record done" in page and "1 records" not in page
    customers_config.interval_minutes = 30
    customers_config.save()
    page = actors.client_for(actors.ops).get(reverse("sync:status", args=["customers"])).content.decode()
    assert "(every 30 minutes)" in page
