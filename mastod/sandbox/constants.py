"""Well-known credentials and names of the sandbox instance (see the package docstring).

The tokens are public by design: the sandbox is a local test double holding no real account.
"""

from __future__ import annotations

from typing import Final

OWNER_TOKEN: Final = "sandbox-owner-token"  # noqa: S105
"""User token of `alice`, the account the daemon runs as; scopes `read write follow push`."""

OTHER_TOKEN: Final = "sandbox-other-token"  # noqa: S105
"""User token of `bob`, the second account; scopes `read write follow push`."""

READ_ONLY_TOKEN: Final = "sandbox-read-only-token"  # noqa: S105
"""User token of `alice` with scope `read` only, for scope tests."""

APP_TOKEN: Final = "sandbox-app-token"  # noqa: S105
"""App (client_credentials) token, `read write:accounts`: for `POST /api/v1/accounts`."""

CLIENT_ID: Final = "sandbox-client-id"
CLIENT_SECRET: Final = "sandbox-client-secret"  # noqa: S105
"""Credentials of the pre-registered app `mastod sandbox` (scopes: `APP_SCOPES`)."""

OWNER_USERNAME: Final = "alice"
OTHER_USERNAME: Final = "bob"
THIRD_USERNAME: Final = "carol"

ALL_SCOPES: Final = "read write follow push"
APP_SCOPES: Final = "read write write:accounts follow push"
"""The app's registered scopes; `write:accounts` is listed so a client_credentials token for
registration can be had (Doorkeeper matches requested scopes against these exactly)."""
APP_NAME: Final = "mastod sandbox"
APP_WEBSITE: Final = "https://github.com/mastod/mastod"
MASTODON_VERSION: Final = "4.4.0"
HTTP_RB_VERSION: Final = "5.2.0"
"""The HTTP client Mastodon 4.4 sends with; it is named in outgoing requests' User-Agent."""
CONTACT_EMAIL: Final = "admin@sandbox.invalid"
"""The instance's contact address: in `/api/v*/instance` and the VAPID JWT's `sub`."""
MAX_CHARACTERS: Final = 500
MAX_MEDIA_ATTACHMENTS: Final = 4
MAX_PINNED_STATUSES: Final = 5
MAX_FEATURED_TAGS: Final = 10
MAX_PROFILE_FIELDS: Final = 4
MAX_ATTRIBUTION_DOMAINS: Final = 10
MAX_IMAGE_DESCRIPTION: Final = 150
IDEMPOTENCY_TTL: Final = 3600.0
