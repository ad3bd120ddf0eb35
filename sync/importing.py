"""Import one CRM record picked in Advanced Search: an Account (a business customer, with its contacts
as contact persons), a Contact (an individual customer) or a Vendor. Each is imported once.

The import runs in the request: the user is waiting to pick the record on a form. It goes through
the sync engine with the module's field mapping (the suggested one when the module is not configured
yet), and is recorded as a run with trigger "import".
"""

from __future__ import annotations

import copy

from django.db import transaction
from django.utils import timezone

from customers.models import Customer
from integration.crm.client import criteria_value
from integration.crm.errors import CrmError, CrmNotFound
from integration.models import CrmConnection, CrmSource, DuplicateAction, SyncModule
from integration.services import client_for, module_config_for
from vendors.models import Vendor

from .engine.adapters import reads_for
from .engine.context import RunContext
from .engine.incoming import apply_records
from .models import RunStatus, SyncRun, Trigger
from .search import imported_records


class ImportRefused(Exception):
    """The record cannot be imported; the message says why, for the user."""


def _shaped(config, crm_module: str):
    """The module configuration as an import of this CRM module needs it (not saved)."""
    shaped = copy.copy(config)
    if config.module == SyncModule.CUSTOMERS:
        shaped.crm_source = CrmSource.CONTACTS if crm_module == "Contacts" else CrmSource.ACCOUNTS_AND_CONTACTS
        shaped.include_orphan_contacts = False
    shaped.crm_view_id = shaped.contact_view_id = ""
    # Picking a CRM record is asking for it here: a same-named record that is not linked yet is taken
    # over (linked and updated) rather than skipped.
    if config.duplicate_action == DuplicateAction.SKIP:
        shaped.duplicate_action = DuplicateAction.OVERWRITE
    return shaped


def _erp_record(connection, crm_module: str, crm_id: str):
    found = imported_records(connection, crm_module, [crm_id]).get(crm_id)
    if found is None:
        return None
    model = Vendor if crm_module == "Vendors" else Customer
    return model.objects.filter(pk=found).first()


def import_record(*, connection: CrmConnection, crm_module: str, crm_id: str):
    """Returns (customer or vendor, created). Two imports of the same record at once make one."""
    module = SyncModule.VENDORS if crm_module == "Vendors" else SyncModule.CUSTOMERS
    with transaction.atomic():
        # One import at a time per connection: the second of two clicks waits here, then finds the link.
        CrmConnection.objects.select_for_update().filter(pk=connection.pk).first()
        existing = _erp_record(connection, crm_module, crm_id)
        if existing is not None:
            return existing, False
        config = module_config_for(connection=connection, module=module)
        shaped = _shaped(config, crm_module)
        now = timezone.now()
        run = SyncRun.objects.create(module_config=config, trigger=Trigger.IMPORT, status=RunStatus.QUEUED,
                                     started_at=now, heartbeat_at=now, progress_total=1)
        run.module_config = shaped
        client = client_for(connection, retry_budget=15, max_attempts=4)
        ctx = RunContext(run=run, client=client)
        error = ""
        try:
            for read in reads_for(shaped):
                fields = ctx.fetch_fields(read)
                if read.crm_module == crm_module:
                    records = [client.get_record(crm_module, crm_id, fields=fields)]
                elif read.crm_module == "Contacts":
                    # The account's contacts become its contact persons.
                    records = client.search("Contacts", criteria=f"(Account_Name:equals:{criteria_value(crm_id)})",
                                            fields=fields)
                else:
                    continue
                if records:
                    apply_records(ctx, read, records, cursor=None)
        except CrmNotFound:
            error = "This record no longer exists in Zoho CRM."
        except CrmError as failure:
            error = f"Zoho CRM could not be reached to import the record: {failure}"
        run.refresh_from_db()
        record = _erp_record(connection, crm_module, crm_id)
        if record is None and not error:
            issue = run.issues.first()
            error = f"The record could not be imported: {issue.message if issue else 'it was skipped.'}"
        SyncRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED if error else (RunStatus.PARTIAL if run.failed else RunStatus.SUCCEEDED),
            failure_reason=error, finished_at=timezone.now(), api_calls=client.calls, retries=client.retries,
            credits=client.credits,
        )
    if error:
        raise ImportRefused(error)
    return record, True
