from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from integration.encryption import EncryptedTextField
from integration.models import CrmConnection, ErpModel, ModuleConfig, SyncModule
from organizations.models import Organization


class Origin(models.TextChoices):
    CRM = "crm", "CRM"
    ERP = "erp", "ERP"


class RecordLink(models.Model):
    """The mapping between one CRM record and one ERP record, with the values both had at the last sync."""

    # Not indexed on its own: both unique constraints start with the connection.
    connection = models.ForeignKey(CrmConnection, on_delete=models.CASCADE, related_name="record_links",
                                   db_index=False)
    crm_module = models.CharField(max_length=40)
    crm_id = models.CharField(max_length=40)
    erp_model = models.CharField(max_length=40, choices=ErpModel.choices)
    erp_id = models.BigIntegerField()
    origin = models.CharField(max_length=4, choices=Origin.choices)
    crm_modified_time = models.DateTimeField(null=True, blank=True)
    synced_snapshot = models.JSONField(default=dict, blank=True)
    last_synced_at = models.DateTimeField(auto_now=True)
    linked_at = models.DateTimeField(default=timezone.now)  # the record's timeline starts here
    # Set when the CRM record was deleted but the ERP record was kept (it has transactions, or came from
    # the ERP): the link stays as a tombstone so that a two-way sync does not push the record back.
    crm_deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "crm_module", "crm_id"], name="one_link_per_crm_record"),
            models.UniqueConstraint(fields=["connection", "erp_model", "erp_id"], name="one_link_per_erp_record"),
        ]
        indexes = [
            models.Index(fields=["connection", "erp_model", "last_synced_at"], name="link_erp_synced"),
            # A record's page (its CRM badge, Re-sync) and an invoice's metrics push look up the link of one
            # ERP record without knowing the connection.
            models.Index(fields=["erp_model", "erp_id"], name="link_erp_record"),
        ]

    def __str__(self):
        return f"{self.crm_module} {self.crm_id} ⇄ {self.erp_model} {self.erp_id}"


class Trigger(models.TextChoices):
    INITIAL = "initial", "Initial sync"
    SCHEDULED = "scheduled", "Scheduled"
    INSTANT = "instant", "Instant sync"
    RESYNC = "resync", "Re-sync"
    IMPORT = "import", "Import"
    METRICS = "metrics", "Accounting metrics"
    NOTIFICATION = "notification", "CRM notification"
    SAVE = "save", "Saved here"
    RETRY = "retry", "Retry"
    APPROVAL = "approval", "Deletions approved"


# The small runs that changes on either side start by themselves (a CRM notification, a save here): many a
# day, so the history shows them apart from the runs people and the schedule start.
EVENT_TRIGGERS = (Trigger.NOTIFICATION, Trigger.SAVE)


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    PARTIAL = "partial", "Partly failed"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"
    STOPPED = "stopped", "Stopped at the credit budget"


class SyncRunQuerySet(models.QuerySet):
    def in_progress(self):
        """Runs queued or running: what a new run of the module waits for. A metrics push is recorded as a
        run of the customers module but holds no slot, so it never counts."""
        return self.filter(status__in=(RunStatus.QUEUED, RunStatus.RUNNING)).exclude(trigger=Trigger.METRICS)


class SyncRun(models.Model):
    # Gone when the integration is deleted; the run stays in the history, which belongs to the organization.
    module_config = models.ForeignKey(ModuleConfig, null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="runs")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="sync_runs")
    module = models.CharField(max_length=16, choices=SyncModule.choices)
    trigger = models.CharField(max_length=12, choices=Trigger.choices)
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    queued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    added = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    deleted = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    conflicts = models.PositiveIntegerField(default=0)
    pushed = models.PositiveIntegerField(default=0)
    api_calls = models.PositiveIntegerField(default=0)
    credits = models.PositiveIntegerField(default=0)  # the CRM's API credits its calls cost
    retries = models.PositiveIntegerField(default=0)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(null=True, blank=True)
    failure_reason = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    # A long run gives its worker back now and then (other organizations' runs go in between) and comes back
    # where it was: how often, and how long it waited for a CRM that asked it to.
    slices = models.PositiveIntegerField(default=0)
    waited_seconds = models.FloatField(default=0)  # what the run chose along the way and why (e.g. Get Records for Bulk Read)

    objects = SyncRunQuerySet.as_manager()

    class Meta:
        ordering = ["-queued_at", "-id"]
        constraints = [
            # One running run per module config: the database is the lock.
            models.UniqueConstraint(
                fields=["module_config"], condition=Q(status="running"), name="one_running_run_per_module"
            ),
        ]
        indexes = [
            models.Index(fields=["module_config", "-queued_at"], name="run_config_queued"),
            models.Index(fields=["organization", "-queued_at"], name="run_org_queued"),
        ]

    def __str__(self):
        return f"{self.organization}: {self.get_module_display()} {self.trigger} {self.status}"

    def save(self, *args, **kwargs):
        if self.module_config_id is not None and (self.organization_id is None or not self.module):
            config = self.module_config
            self.organization_id, self.module = config.connection.organization_id, config.module
        super().save(*args, **kwargs)

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None

    @property
    def duration_text(self) -> str:
        if self.duration is None:
            return "—"
        seconds = self.duration.total_seconds()
        if seconds < 60:
            return f"{seconds:.1f} s"
        minutes, seconds = divmod(int(seconds), 60)
        return f"{minutes} min {seconds} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


class IssueKind(models.TextChoices):
    ERROR = "error", "Error"
    CONFLICT = "conflict", "Conflict"
    SKIPPED = "skipped", "Skipped"


class SyncIssue(models.Model):
    """A record that failed, conflicted or was skipped in a run, and why."""

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="issues")
    kind = models.CharField(max_length=10, choices=IssueKind.choices)
    crm_module = models.CharField(max_length=40, blank=True)
    crm_id = models.CharField(max_length=40, blank=True)
    erp_model = models.CharField(max_length=40, blank=True)
    erp_id = models.BigIntegerField(null=True, blank=True)
    field = models.CharField(max_length=100, blank=True)
    message = models.TextField()
    crm_value = models.TextField(blank=True)
    erp_value = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.kind}: {self.message[:60]}"


class NotificationChannel(models.Model):
    """A connection's CRM notification channel (Zoho's Watch API): the CRM calls the ERP back, at
    SITE_URL, when a record of a synced module changes. The token is a secret, stored encrypted."""

    connection = models.OneToOneField(CrmConnection, on_delete=models.CASCADE, related_name="notification_channel")
    channel_id = models.CharField(max_length=20, unique=True)
    token = EncryptedTextField()
    events = models.JSONField(default=list, blank=True)  # ["Accounts.all", "Contacts.all", ...]
    notify_url = models.URLField(max_length=500)
    expires_at = models.DateTimeField(null=True, blank=True)
    subscribed_at = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)  # last seen alive in the CRM (subscribe, renew, check)
    last_callback_at = models.DateTimeField(null=True, blank=True)
    callbacks = models.PositiveIntegerField(default=0)
    last_applied_at = models.DateTimeField(null=True, blank=True)  # a change a callback announced, applied here
    last_lag_seconds = models.FloatField(null=True, blank=True)  # ... this long after it was made in the CRM
    run_due_at = models.DateTimeField(null=True, blank=True)  # a run for the changes announced is queued
    problem = models.CharField(max_length=500, blank=True)  # why the channel could not be made or renewed

    def __str__(self):
        return f"notification channel {self.channel_id} of {self.connection}"

    @property
    def live(self) -> bool:
        return self.expires_at is not None and self.expires_at > timezone.now() and not self.problem


class PendingChange(models.Model):
    """A CRM record a notification named, until the run that fetches it (or finds it deleted) is done."""

    connection = models.ForeignKey(CrmConnection, on_delete=models.CASCADE, related_name="pending_changes")
    crm_module = models.CharField(max_length=40)
    crm_id = models.CharField(max_length=40)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "crm_module", "crm_id"], name="one_pending_change_per_record"),
        ]

    def __str__(self):
        return f"{self.crm_module} {self.crm_id} (announced {self.received_at:%Y-%m-%d %H:%M:%S})"


class OpenIssue(models.Model):
    """A record that fails to sync, across runs: one open issue however often it fails again, closed by
    itself when the record next syncs cleanly (and kept, closed, in the history)."""

    module_config = models.ForeignKey(ModuleConfig, on_delete=models.CASCADE, related_name="open_issues")
    crm_module = models.CharField(max_length=40, blank=True)
    crm_id = models.CharField(max_length=40, blank=True)  # "" for an ERP record the CRM has not got yet
    erp_model = models.CharField(max_length=40, blank=True, choices=ErpModel.choices)
    erp_id = models.BigIntegerField(null=True, blank=True)
    field = models.CharField(max_length=100, blank=True)
    message = models.TextField()
    count = models.PositiveIntegerField(default=1)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    last_run = models.ForeignKey(SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-last_seen", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["module_config", "crm_module", "crm_id", "erp_model", "erp_id"],
                                    condition=Q(closed_at__isnull=True), name="one_open_issue_per_record",
                                    nulls_distinct=False),
        ]

    def __str__(self):
        return f"{self.crm_module or self.erp_model} {self.crm_id or self.erp_id}: {self.message[:60]}"

    @property
    def from_erp(self) -> bool:
        """Caused by the ERP side (a value this ERP refuses): fixed on the record's edit page."""
        return self.erp_id is not None and ("ERP refused" in self.message or not self.crm_id)


class HeldDeletion(models.Model):
    """A record deleted in the CRM whose deletion here waits for an admin: held when a run would delete more
    than the module allows at once. Until then the record stays, linked."""

    module_config = models.ForeignKey(ModuleConfig, on_delete=models.CASCADE, related_name="held_deletions")
    run = models.ForeignKey(SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="held_deletions")
    crm_module = models.CharField(max_length=40)
    crm_id = models.CharField(max_length=40)
    erp_model = models.CharField(max_length=40, choices=ErpModel.choices)
    erp_id = models.BigIntegerField()
    label = models.CharField(max_length=255, blank=True)
    held_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["held_at", "id"]
        constraints = [models.UniqueConstraint(fields=["module_config", "crm_module", "crm_id"],
                                               name="one_held_deletion_per_record")]

    def __str__(self):
        return f"held deletion of {self.crm_module} {self.crm_id} ({self.label})"


class AlertKind(models.TextChoices):
    RUN_FAILED = "run_failed", "A sync failed"
    STALE = "stale", "No successful sync for two intervals"
    PARTIAL = "partial", "Three syncs in a row partly failed"
    REAUTH = "reauth", "Zoho CRM needs authorizing again"
    CREDITS = "credits", "API credits near the budget"
    HELD = "held", "Deletions wait for approval"
    FIELD_GONE = "field_gone", "A mapped CRM field changed"


class Alert(models.Model):
    """An incident admins were told of: one per kind and module while it lasts, said again when it clears."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="sync_alerts")
    kind = models.CharField(max_length=12, choices=AlertKind.choices)
    module = models.CharField(max_length=16, blank=True, choices=SyncModule.choices)
    message = models.TextField()
    opened_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["organization", "kind", "module"],
                                               condition=Q(resolved_at__isnull=True), name="one_open_alert_per_incident")]

    def __str__(self):
        return f"{self.get_kind_display()} ({self.module or 'all'})"


class PreviewStatus(models.TextChoices):
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Preview(models.Model):
    """What a module's first sync would do, worked out without doing it: counts, samples, possible
    duplicates. Shown while the configuration it was made for (`fingerprint`) stands."""

    module_config = models.OneToOneField(ModuleConfig, on_delete=models.CASCADE, related_name="preview")
    fingerprint = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=PreviewStatus.choices, default=PreviewStatus.RUNNING)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True)
    failure_reason = models.TextField(blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"preview of {self.module_config} ({self.status})"


class Decision(models.TextChoices):
    PENDING = "pending", "Not decided"
    ACCEPTED = "accepted", "Same party: link them"
    REJECTED = "rejected", "Two parties: keep apart"


class DuplicateSuggestion(models.Model):
    """A CRM record the first sync would create although an unlinked ERP record looks like the same party.
    An admin accepts (the first sync links them) or rejects (they are made apart); the decision stays."""

    module_config = models.ForeignKey(ModuleConfig, on_delete=models.CASCADE, related_name="duplicate_suggestions")
    crm_module = models.CharField(max_length=40)
    crm_id = models.CharField(max_length=40)
    crm_label = models.CharField(max_length=255)
    erp_model = models.CharField(max_length=40, choices=ErpModel.choices)
    erp_id = models.BigIntegerField()
    erp_label = models.CharField(max_length=255)
    score = models.FloatField()
    agree = models.JSONField(default=list, blank=True)  # what agrees: "name", "legal form", "email", "SKU"
    decision = models.CharField(max_length=10, choices=Decision.choices, default=Decision.PENDING)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    used_by = models.ForeignKey(SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-score", "id"]
        constraints = [models.UniqueConstraint(fields=["module_config", "crm_module", "crm_id"],
                                               name="one_suggestion_per_crm_record")]

    def __str__(self):
        return f"{self.crm_label} ~ {self.erp_label} ({self.score:.0f})"


class TimelineEntry(models.Model):
    """One change the sync made to an ERP record or sent from it: the record's Sync tab. Only changes after
    the first link are written (a first load writes none: its link says when), and beat prunes them after
    CRM_TIMELINE_DAYS."""

    erp_model = models.CharField(max_length=40, choices=ErpModel.choices)
    erp_id = models.BigIntegerField()
    run = models.ForeignKey(SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    kind = models.CharField(max_length=10)  # "linked", "fetched" (CRM -> ERP), "pushed" (ERP -> CRM), "conflict"
    changes = models.JSONField(default=list)  # [{"field", "old", "new"}] or, for a conflict, the CRM and ERP values

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["erp_model", "erp_id", "at"], name="timeline_record")]

    def __str__(self):
        return f"{self.kind} {self.erp_model} {self.erp_id} at {self.at:%Y-%m-%d %H:%M}"
