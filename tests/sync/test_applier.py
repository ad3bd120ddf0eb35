"""The applier's promise: one record the database refuses becomes a SyncIssue, the rest of the page is
written (a race the planner could not see, such as another process making a contact person primary)."""

import logging
import re

from customers.models import ContactPerson
from sync.engine import applier, planner
from sync.engine.adapters import CONTACT_PERSONS
from sync.engine.context import AdapterRun
from sync.engine.loading import load_page
from sync.engine.mapping import FieldSpec
from sync.models import RecordLink, SyncIssue, SyncRun
from tests.factories import CustomerFactory

from .conftest import configure

LAST_NAME = FieldSpec("last_name", "Last_Name", "text", "text", max_length=100, required=True)


def two_primary_contacts(connection):
    """A page of three contact persons whose first two the database refuses to make both primary: the run,
    the customer and the page's counts."""
    config = configure(connection, "customers", crm_source="accounts_and_contacts")
    run = SyncRun.objects.create(module_config=config, trigger="instant", status="running")
    customer = CustomerFactory(organization=connection.organization)
    scope = AdapterRun(run=run, config=config, adapter=CONTACT_PERSONS, specs=[LAST_NAME])
    incoming = [planner.Incoming(crm_id=f"c{n}", values={"last_name": f"Person {n}"}, parent_crm_id="a1",
                                 parent_erp_id=customer.pk) for n in range(3)]
    data, loaded = load_page(scope, incoming)
    actions = planner.plan(data)
    # Between the plan and the write, the customer got a primary contact elsewhere... and the plan
    # thinks two of these are the first.
    for action in actions[:2]:
        action.make_primary = True
    return run, customer, applier.apply_page(scope, data, loaded, actions, progress=3)


def test_a_record_the_database_refuses_is_an_issue_and_the_rest_of_the_page_is_written(connection):
    run, customer, counts = two_primary_contacts(connection)

    assert (counts.added, counts.failed) == (2, 1)
    [issue] = SyncIssue.objects.filter(run=run)
    assert issue.kind == "error" and "database refused" in issue.message and issue.crm_id == "c1"
    people = ContactPerson.objects.filter(customer=customer)
    assert sorted(people.values_list("last_name", flat=True)) == ["Person 0", "Person 2"]
    links = RecordLink.objects.filter(connection=connection, crm_module="Contacts")
    assert {link.crm_id for link in links} == {"c0", "c2"}
    assert {link.erp_id for link in links} == set(people.values_list("pk", flat=True))
    run.refresh_from_db()
    assert (run.added, run.failed, run.progress_done) == (2, 1, 3)


def test_the_issue_of_a_refused_record_gives_a_reference_and_the_database_error_goes_to_the_log(connection,
                                                                                              caplog):
    with caplog.at_level(logging.WARNING, logger="sync"):
        run, _, _ = two_primary_contacts(connection)
    [issue] = SyncIssue.objects.filter(run=run)
    found = re.fullmatch(r"The database refused the record \(see the server log, reference ([0-9a-f]{8})\)\.",
                         issue.message)
    assert found, issue.message
    assert "violates" not in issue.message and "Key (" not in issue.message
    [logged] = [r for r in caplog.records if found.group(1) in r.getMessage()]
    assert logged.levelno == logging.WARNING and "Contacts c1" in logged.getMessage()
    assert "violates unique constraint" in logged.getMessage() and logged.exc_info is not None
