"""mastod: make a Mastodon account scriptable from the local machine."""

from __future__ import annotations

__version__ = "0.1.0"
