"""A CRM that fails now and then (5xx, 429, an access token that expires mid-run) still ends in the exact
result, and the run says how many calls and retries it took."""

from __future__ import annotations

import threading
import time

from customers.models import Customer
from tests.factories import CustomerFactory

from .checks import default_pairs, links_of, mismatches
from .conftest import configure, sync
from .test_exactness import ACCOUNT_FIELDS, CONTACT_FIELDS


def expire_tokens_after(sandbox, calls: int) -> threading.Thread:
    """Expire every access token once the CRM has answered `calls` API calls (a token dying mid-run)."""

    def watch():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if sandbox.calls()["total"] >= calls:
                sandbox.expire_tokens()
                return
            time.sleep(0.005)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_a_sync_through_5xx_429_and_an_expired_token_ends_exact_and_counts_its_retries(connection, crm, sandbox):
    org = connection.organization
    own = [CustomerFactory(organization=org, display_name=f"ERP customer {n}") for n in range(5)]
    config = configure(connection, "customers", crm_source="accounts_and_contacts", include_orphan_contacts=True,
                       direction="both")
    sandbox.config(error_rate_5xx=0.10, error_rate_429=0.05, fault_seed=7, latency_ms=5)
    sandbox.reset_calls()
    watcher = expire_tokens_after(sandbox, 4)

    run = sync(config)

    watcher.join(timeout=5)
    counted = sandbox.calls()
    sandbox.config(error_rate_5xx=0, error_rate_429=0, latency_ms=0)
    assert (run.status, run.failure_reason) == ("succeeded", "")
    faults = counted["faults"]
    assert faults.get("5xx", 0) + faults.get("429", 0) > 0
    assert run.retries == faults.get("5xx", 0) + faults.get("429", 0)
    api_calls = sum(n for call, n in counted["calls"].items() if " /crm/" in call)
    assert run.api_calls == api_calls
    assert counted["calls"]["POST /oauth/v2/token"] >= 2  # the first token, and one after it expired

    accounts = crm.records("Accounts", [*ACCOUNT_FIELDS, "ERP_Id"])
    contacts = crm.records("Contacts", CONTACT_FIELDS)
    account_links = links_of(connection, "Accounts")
    assert set(account_links) == set(accounts)
    assert mismatches(accounts, account_links, default_pairs("customer", "Accounts", set(ACCOUNT_FIELDS))) == []
    people = links_of(connection, "Contacts", "contact_person")
    orphans = links_of(connection, "Contacts", "customer")
    assert set(people) | set(orphans) == set(contacts) and not set(people) & set(orphans)
    assert mismatches(contacts, people, default_pairs("contact_person", "Contacts", set(CONTACT_FIELDS))) == []
    pushed = [r["ERP_Id"] for r in accounts.values() if r.get("ERP_Id")]
    assert sorted(pushed) == sorted(f"{org.pk}-customer-{c.pk}" for c in own)  # each exactly once
    assert Customer.objects.filter(organization=org).count() == len(accounts) + len(orphans)
