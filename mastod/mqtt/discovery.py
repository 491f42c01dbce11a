"""Home Assistant MQTT discovery: retained config messages under
`<discovery_prefix>/<component>/mastod_<account-id>/<object>/config` that give Home Assistant
one device, "mastod @user@instance", with three entities and the bridge's availability:

- `notify` "Post": its command topic is `<prefix>/notify`; each message is posted as a status
  (`publish_status`, visibility `mqtt.notify_visibility`);
- `sensor` "Last notification": `<type> from @acct`, the notification as attributes, read from
  the notification topics;
- `binary_sensor` "Notifications connected": the notification source's health, read from the
  retained `<prefix>/state`.

Keys are Home Assistant's full names (not the abbreviations), as its MQTT docs list them.
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from mastod import __version__
from mastod.mqtt.connection import OFFLINE, ONLINE
from mastod.mqtt.topics import Topics

# `notifications.state` values of a healthy source: streaming connected, push running
HEALTHY_SOURCE_STATES = ("connected", "running")


# what Home Assistant's discovery topic matcher takes in a node or object id
_ID_CHARACTERS = frozenset(string.ascii_letters + string.digits + "_-")


def node_id(account: Mapping[str, Any]) -> str:
    raw = str(account.get("id", ""))
    return "mastod_" + "".join(
        c if c.isascii() and (c.isalnum() or c in "_-") else "_" for c in raw
    )


def device_name(account: Mapping[str, Any], base_url: str) -> str:
    acct = str(account.get("acct") or account.get("username") or "")
    if "@" not in acct:
        acct = f"{acct}@{urlsplit(base_url).hostname}"
    return f"mastod @{acct}"


def messages(
    account: Mapping[str, Any],
    base_url: str,
    topics: Topics,
    *,
    discovery_prefix: str,
    qos: int,
) -> list[tuple[str, str]]:
    """(topic, payload) of each retained discovery config message."""
    node = node_id(account)
    device: dict[str, Any] = {
        "identifiers": [node],
        "name": device_name(account, base_url),
        "manufacturer": "mastod",
        "model": "Mastodon account bridge",
        "sw_version": __version__,
    }
    if isinstance(account.get("url"), str) and account["url"].startswith(("http://", "https://")):
        device["configuration_url"] = account["url"]
    common: dict[str, Any] = {
        "device": device,
        "availability": [
            {
                "topic": topics.status,
                "payload_available": ONLINE.decode(),
                "payload_not_available": OFFLINE.decode(),
            }
        ],
        "origin": {"name": "mastod", "sw_version": __version__},
        "qos": qos,
    }
    healthy = json.dumps(list(HEALTHY_SOURCE_STATES))
    entities: dict[tuple[str, str], dict[str, Any]] = {
        ("notify", "post"): {
            "name": "Post",
            "command_topic": topics.notify,
            "icon": "mdi:mastodon",
        },
        ("sensor", "last_notification"): {
            "name": "Last notification",
            "state_topic": topics.notifications,
            # some types (annual_report, severed_relationships) come from no account
            "value_template": (
                "{{ value_json.type }}{% if value_json.account is defined %}"
                " from @{{ value_json.account.acct }}{% endif %}"
            ),
            "json_attributes_topic": topics.notifications,
            "icon": "mdi:bell",
        },
        ("binary_sensor", "notifications_connected"): {
            "name": "Notifications connected",
            "state_topic": topics.state,
            "value_template": (
                "{{ 'ON' if value_json.notifications.state in " + healthy + " else 'OFF' }}"
            ),
            "payload_on": "ON",
            "payload_off": "OFF",
            "device_class": "connectivity",
            "entity_category": "diagnostic",
        },
    }
    out = []
    for (component, object_id), entity in entities.items():
        payload = {**entity, "unique_id": f"{node}_{object_id}", **common}
        topic = f"{discovery_prefix}/{component}/{node}/{object_id}/config"
        out.append((topic, json.dumps(payload, ensure_ascii=False, separators=(",", ":"))))
    return out
