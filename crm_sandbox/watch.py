"""Notifications, as Zoho's Watch API has them: channels (`/actions/watch`) and the callbacks every record
change sends to each matching channel's notify_url.

A change is announced once its transaction has committed, from a background thread. Changes of the same
module and operation that happen together (within `notify_coalesce_ms`) go in one callback with several
ids. Knobs make callbacks late (`notify_delay_ms`), lost (`notify_drop_rate`) or sent twice
(`notify_duplicate_rate`), so that a client can show it depends on none of them arriving once.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from urllib.parse import parse_qsl, urlsplit

from .errors import ApiError
from .schema import MODULES
from .times import format_time, parse_time

MAX_EXPIRY = 7 * 86400  # a week
DEFAULT_EXPIRY = 3600  # when absent, or asked too far out
MAX_TOKEN = 50
OPERATIONS = {"create": "insert", "edit": "update", "delete": "delete"}
_EVENT = re.compile(r"^(?P<module>[A-Za-z_]+)\.(?P<op>create|edit|delete|all)$")


def _mandatory(name: str, index: int) -> dict:
    return {"code": "MANDATORY_NOT_FOUND", "status": "error", "message": "required field not found",
            "details": {"api_name": name, "json_path": f"$.watch[{index}].{name}"}}


def _invalid(name: str, index: int) -> dict:
    return {"code": "INVALID_DATA", "status": "error", "message": "invalid data",
            "details": {"api_name": name, "json_path": f"$.watch[{index}].{name}"}}


def _not_subscribed(channel_id) -> dict:
    return {"code": "NOT_SUBSCRIBED", "status": "error", "message": "the channel is not subscribed",
            "details": {"channel_id": str(channel_id)}}


class Notifier:
    """The channels, and the thread that delivers their callbacks."""

    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.lock = threading.Condition()
        self.channels: dict[str, dict] = {}
        self.pending: dict[tuple[str, str, str], dict] = {}  # (channel, module, operation) -> ids, since
        self.counts: Counter = Counter()  # sent, dropped, duplicated, failed
        self.thread = threading.Thread(target=self._deliver_forever, name="crm-sandbox-notifier", daemon=True)
        self.thread.start()

    def reset(self) -> None:
        with self.lock:
            self.channels.clear()
            self.pending.clear()
            self.counts.clear()

    # --- channels -------------------------------------------------------------------------------------

    def _expiry(self, text) -> int:
        now = self.sandbox.now()
        if not text:
            return now + DEFAULT_EXPIRY
        try:
            asked = parse_time(str(text))
        except ValueError:
            raise ValueError("channel_expiry") from None
        return asked if now < asked <= now + MAX_EXPIRY else now + DEFAULT_EXPIRY

    def _channel(self, item, index: int, current: dict | None = None) -> tuple[dict | None, dict | None]:
        """(the channel an item of a subscription describes, or its error)."""
        if not isinstance(item, dict):
            return None, _invalid("watch", index)
        channel = dict(current or {})
        for name in ("channel_id", "events", "notify_url"):
            if name not in item and name not in channel:
                return None, _mandatory(name, index)
        channel_id = str(item.get("channel_id", channel.get("channel_id")))
        if not channel_id.isdigit() or len(channel_id) > 20:
            return None, _invalid("channel_id", index)
        events = item.get("events", channel.get("events"))
        if not isinstance(events, list) or not events or not all(
                isinstance(e, str) and _EVENT.match(e) and _EVENT.match(e)["module"] in MODULES for e in events):
            return None, _invalid("events", index)
        url = item.get("notify_url", channel.get("notify_url"))
        if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
            return None, _invalid("notify_url", index)
        token = item.get("token", channel.get("token"))
        if token is not None and (not isinstance(token, str) or len(token) > MAX_TOKEN):
            return None, _invalid("token", index)
        try:
            expiry = self._expiry(item.get("channel_expiry")) if "channel_expiry" in item or current is None \
                else channel["expires_at"]
        except ValueError:
            return None, _invalid("channel_expiry", index)
        channel.update(channel_id=channel_id, events=list(dict.fromkeys(events)), notify_url=url, token=token,
                       expires_at=expiry)
        return channel, None

    def _details(self, channel: dict, base_url: str) -> dict:
        modules = dict.fromkeys(_EVENT.match(e)["module"] for e in channel["events"])
        expiry = format_time(channel["expires_at"], self.sandbox.offset)
        return {"events": [{"channel_id": channel["channel_id"], "resource_name": module,
                            "resource_id": MODULES[module]["id"], "resource_uri": f"{base_url}/crm/v8/{module}",
                            "channel_expiry": expiry} for module in modules]}

    def subscribe(self, items: list, base_url: str, *, replace: bool) -> list[dict]:
        """POST (replace=False) or PUT (replace=True): one result per item."""
        results = []
        for index, item in enumerate(items):
            channel_id = str(item.get("channel_id")) if isinstance(item, dict) else ""
            with self.lock:
                known = channel_id in self.channels
            if replace and not known:
                results.append(_not_subscribed(channel_id))
                continue
            channel, error = self._channel(item, index)
            if error:
                results.append(error)
                continue
            channel["base_url"] = base_url
            with self.lock:
                self.channels[channel["channel_id"]] = channel
            results.append({"code": "SUCCESS", "status": "success",
                            "message": "Successfully subscribed for actions-watch of the given module",
                            "details": self._details(channel, base_url)})
        return results

    def update(self, items: list, base_url: str) -> list[dict]:
        """PATCH: the given keys of existing channels; `_delete_events: true` removes the listed events."""
        results = []
        for index, item in enumerate(items):
            channel_id = str(item.get("channel_id")) if isinstance(item, dict) else ""
            with self.lock:
                current = self.channels.get(channel_id)
            if current is None:
                results.append(_not_subscribed(channel_id))
                continue
            changes = dict(item)
            if changes.pop("_delete_events", False):
                removed = set(changes.pop("events", []) or [])
                changes["events"] = [e for e in current["events"] if e not in removed]
            channel, error = self._channel(changes, index, current)
            if error:
                results.append(error)
                continue
            with self.lock:
                self.channels[channel_id] = channel
            results.append({"code": "SUCCESS", "status": "success", "message": "Successfully updated the channel",
                            "details": self._details(channel, base_url)})
        return results

    def unsubscribe(self, channel_ids: list[str], base_url: str) -> list[dict]:
        results = []
        for channel_id in channel_ids:
            with self.lock:
                channel = self.channels.pop(channel_id, None)
            if channel is None:
                results.append(_not_subscribed(channel_id))
                continue
            results.append({"code": "SUCCESS", "status": "success",
                            "message": "Successfully unsubscribed from actions-watch of the given module",
                            "details": self._details(channel, base_url)})
        return results

    def listing(self, base_url: str, channel_id: str | None, module: str | None) -> list[dict]:
        with self.lock:
            channels = [dict(c) for c in self.channels.values()]
        found = []
        for channel in channels:
            if channel_id and channel["channel_id"] != channel_id:
                continue
            for event in self._details(channel, base_url)["events"]:
                if module and event["resource_name"] != module:
                    continue
                found.append({**event, "events": [e for e in channel["events"]
                                                  if e.startswith(f"{event['resource_name']}.")],
                              "notify_url": channel["notify_url"], "token": channel["token"],
                              "notify_on_related_action": False})
        return found

    # --- callbacks ------------------------------------------------------------------------------------

    def changed(self, events: list[tuple[str, str, int]]) -> None:
        """Committed changes, (module, operation, record id): queued for every channel that watches them."""
        now = time.monotonic()
        with self.lock:
            for module, operation, record_id in events:
                for channel in self.channels.values():
                    if not any(e in (f"{module}.all", f"{module}.{op}") for e in channel["events"]
                               for op, name in OPERATIONS.items() if name == operation):
                        continue
                    entry = self.pending.setdefault((channel["channel_id"], module, operation),
                                                    {"ids": [], "since": now})
                    if str(record_id) not in entry["ids"]:
                        entry["ids"].append(str(record_id))
            self.lock.notify_all()

    def _due(self) -> list[tuple[tuple[str, str, str], list[str]]]:
        window = self.sandbox.config["notify_coalesce_ms"] / 1000
        now = time.monotonic()
        due = [(key, entry["ids"]) for key, entry in self.pending.items() if now - entry["since"] >= window]
        for key, _ in due:
            del self.pending[key]
        return due

    def _deliver_forever(self) -> None:
        while True:
            with self.lock:
                self.lock.wait(timeout=0.02)
                due = self._due()
            for (channel_id, module, operation), ids in due:
                self._deliver(channel_id, module, operation, ids)

    def _deliver(self, channel_id: str, module: str, operation: str, ids: list[str]) -> None:
        config, rng = self.sandbox.config, self.sandbox.rng
        with self.lock:
            channel = self.channels.get(channel_id)
        if channel is None or channel["expires_at"] <= self.sandbox.now():
            return  # unsubscribed meanwhile, or expired: an expired channel calls no more
        if config["notify_delay_ms"]:
            time.sleep(config["notify_delay_ms"] / 1000)
        if rng.random() < config["notify_drop_rate"]:
            self.counts["dropped"] += 1
            return
        url = channel["notify_url"]
        body = {"server_time": int(time.time() * 1000), "module": module,
                "resource_uri": f"{channel.get('base_url', '')}/crm/v8/{module}", "ids": ids, "operation": operation,
                "channel_id": channel_id, "token": channel["token"], "query_params": dict(parse_qsl(urlsplit(url).query))}
        times = 2 if rng.random() < config["notify_duplicate_rate"] else 1
        self.counts["duplicated"] += times - 1
        for _ in range(times):
            self._post(url, body)

    def _post(self, url: str, body: dict) -> None:
        request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                response.read()
            self.counts["sent"] += 1
        except (urllib.error.URLError, OSError, ValueError):
            self.counts["failed"] += 1


def parse_watch_items(body: dict) -> list:
    items = body.get("watch")
    if not isinstance(items, list) or not items:
        raise ApiError(400, "MANDATORY_NOT_FOUND", "required field not found", {"api_name": "watch"})
    return items
