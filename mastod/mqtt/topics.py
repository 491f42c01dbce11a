"""The bridge's topic names, all under `mqtt.topic_prefix` (discovery under its own prefix)."""

from __future__ import annotations

from dataclasses import dataclass

# Characters a topic level we build from data must not hold: level separator and wildcards.
_UNSAFE = str.maketrans({"/": "_", "+": "_", "#": "_", "\0": "_"})


@dataclass(frozen=True, slots=True)
class Topics:
    prefix: str

    @property
    def status(self) -> str:
        """Availability: `online` (retained) while connected, the will `offline` after."""
        return f"{self.prefix}/status"

    @property
    def state(self) -> str:
        """The daemon's `status` object, retained."""
        return f"{self.prefix}/state"

    @property
    def rpc(self) -> str:
        """Requests answered on their MQTT 5 response topic."""
        return f"{self.prefix}/rpc"

    @property
    def rpc_named(self) -> str:
        """Requests on `<prefix>/rpc/<name>`, answered on `<prefix>/rpc/<name>/reply`."""
        return f"{self.prefix}/rpc/+"

    @property
    def notify(self) -> str:
        """The Home Assistant notify entity's command topic: its message is posted."""
        return f"{self.prefix}/notify"

    @property
    def notifications(self) -> str:
        """Every notification topic (a subscription filter)."""
        return f"{self.prefix}/notification/+"

    def notification(self, type_: str) -> str:
        return f"{self.prefix}/notification/{type_.translate(_UNSAFE) or '_'}"

    @staticmethod
    def reply(topic: str) -> str:
        return f"{topic}/reply"
