"""Record owners: the CRM record's Owner is the ERP user with the same email (matched when the CRM is
connected, and again daily), or nobody when that CRM user has no account here. Both ways, an owner
changed here goes to the CRM when that person is a CRM user too.

The CRM owner's id is kept in the link's snapshot under planner.OWNER_KEY, so that a change of owner
is told apart on each side like a field's.
"""

from __future__ import annotations

import datetime
import logging

from django.db.models import Subquery
from django.utils import timezone

from integration.crm.errors import CrmAuthError, CrmError
from integration.models import CrmUser, ErpModel
from integration.services import CrmValueTooLong, crm_users_map

from ..models import RecordLink
from .adapters import MODELS
from .planner import OWNER_KEY

log = logging.getLogger("sync")

USERS_READ_EVERY = datetime.timedelta(days=1)


class Owners:
    """CRM user id ⇄ ERP user id for one connection's matched users, read once per run."""

    def __init__(self, connection):
        self.connection = connection
        self._by_crm_user: dict[str, int] | None = None
        self._by_erp_user: dict[int, str] | None = None

    def by_crm_user(self) -> dict[str, int]:
        """CRM user id -> ERP user id."""
        if self._by_crm_user is None:
            self._by_crm_user = dict(CrmUser.objects.filter(connection=self.connection, erp_user__isnull=False)
                                     .values_list("crm_user_id", "erp_user_id"))
        return self._by_crm_user

    def crm_owner(self, obj) -> str | None:
        """The CRM user id of an ERP record's owner, when that user has a CRM account."""
        owner = getattr(obj, "owner_id", None)
        if owner is None:
            return None
        if self._by_erp_user is None:
            self._by_erp_user = {erp: crm for crm, erp in sorted(self.by_crm_user().items())}
        return self._by_erp_user.get(owner)

    def forget(self) -> None:
        self._by_crm_user = self._by_erp_user = None

    def read_users(self, client) -> None:
        """Once a day, read the CRM's users again and match them to members by email: sales people join
        the CRM and the ERP over the years, and their records' owners should follow."""
        read_at = self.connection.users_read_at
        if read_at is not None and read_at > timezone.now() - USERS_READ_EVERY:
            return
        try:
            users = client.users()
        except CrmAuthError:
            raise
        except CrmError as error:  # (no users scope, say): owners keep the last map; the sync goes on
            log.info("could not read the CRM's users: %s", error)
            return
        before = dict(CrmUser.objects.filter(connection=self.connection).values_list("crm_user_id", "erp_user_id"))
        try:
            crm_users_map(connection=self.connection, crm_users=users)
        except CrmValueTooLong as error:  # refused whole: the users as last read stay, the sync goes on
            log.warning("the CRM's users of %s were not read again: %s", self.connection, error)
            return
        self.forget()
        joined = {crm: erp for crm, erp in self.by_crm_user().items() if before.get(crm) != erp}
        if joined:
            adopt_owners(connection=self.connection, owners=joined)


def follow_owner(*, owners: dict[str, int], link, erp_model: str, action, obj, fields: set[str],
                 creating: bool) -> None:
    """The CRM record's Owner, when it changed there (or the record is new here), becomes the ERP record's
    owner: the ERP user with the CRM user's email, or nobody when the CRM user has no ERP account. An ERP
    record linked for the first time keeps its owner unless the CRM's owner has an account here. `link` is
    the record's link before this action, if any."""
    crm_owner = action.snapshot[OWNER_KEY]
    first_link = link is None or link.erp_model != erp_model
    if not creating and not first_link and (link.synced_snapshot or {}).get(OWNER_KEY) == crm_owner:
        return  # unchanged in the CRM: the ERP's owner stands (a change made here is pushed, not undone)
    owner = owners.get(crm_owner) if crm_owner else None
    if owner is None and first_link and not creating:
        return
    if obj.owner_id != owner:
        obj.owner_id = owner
        fields.add("owner")


def adopt_owners(*, connection, owners: dict[str, int]) -> int:
    """Records without an owner here whose CRM owner has just been matched to an ERP user (CRM user id ->
    ERP user id) get that user. Not an edit (updated_at stays): nothing goes back to the CRM."""
    changed = 0
    for erp_model in (ErpModel.CUSTOMER, ErpModel.VENDOR, ErpModel.ITEM):
        for crm_user, erp_user in owners.items():
            owned = RecordLink.objects.filter(
                connection=connection, erp_model=erp_model, crm_deleted_at__isnull=True,
                **{f"synced_snapshot__{OWNER_KEY}": crm_user}).values("erp_id")
            changed += MODELS[erp_model].objects.filter(pk__in=Subquery(owned), owner__isnull=True).update(
                owner_id=erp_user)
    return changed
