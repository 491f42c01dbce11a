"""The point of view an entity is rendered from: the sandbox, its base URL and the viewer."""

from __future__ import annotations

from dataclasses import dataclass

from mastod.sandbox.state import Sandbox

DEFAULT_IMAGE = "missing.png"


@dataclass(frozen=True)
class View:
    sb: Sandbox
    viewer: str | None

    @property
    def base(self) -> str:
        return self.sb.url

    def file_url(self, key: str | None) -> str:
        """URL of a stored blob (`/_sandbox/files/<key>`), or of the default image."""
        return f"{self.base}/_sandbox/files/{key or DEFAULT_IMAGE}"

    def profile_url(self, username: str) -> str:
        return f"{self.base}/@{username}"
