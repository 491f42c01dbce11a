"""mastod.sandbox: an in-memory Mastodon-compatible server (aiohttp), no network, no account.

It is the upstream of `mastod serve --sandbox` and of the test-suite. It shares no code with
the daemon's client, RPC, push or notification modules, so it cannot merely agree with their
mistakes; its requests and responses are checked against Mastodon's OpenAPI schema in tests.

Start one::

    async with await start_sandbox() as running:   # http://127.0.0.1:<free port>
        ...  # talk to running.url; inspect or change running.sandbox

Well-known credentials (all tokens belong to the pre-registered app `mastod sandbox`):

=====================  ===========================  ==========================================
constant               value                        what it is
=====================  ===========================  ==========================================
``OWNER_TOKEN``        ``sandbox-owner-token``      `alice`, the owner; `read write follow push`
``OTHER_TOKEN``        ``sandbox-other-token``      `bob`, a second user; `read write follow push`
``READ_ONLY_TOKEN``    ``sandbox-read-only-token``  `alice` with scope `read` only
``APP_TOKEN``          ``sandbox-app-token``        app token (client_credentials),
                                                    `read write:accounts`: registration
``CLIENT_ID``          ``sandbox-client-id``        `POST /oauth/token` with
``CLIENT_SECRET``      ``sandbox-client-secret``    `grant_type=client_credentials` and a
                                                    `scope` within `read write write:accounts
                                                    follow push` (default `read`)
=====================  ===========================  ==========================================

A third account, `carol`, has no token. Seed data: each account has posted a few statuses with
hashtags (one of alice's carries an image), bob mentioned alice, sent her a direct message and
favourited her first post; alice follows bob, bob and carol follow alice.

OAuth's out-of-band authorization works as on Mastodon (`mastod.sandbox.routes.authorize`):
an app registered with `redirect_uris=urn:ietf:wg:oauth:2.0:oob` sends the user to
`/oauth/authorize`, whose approval (for alice) shows a code that `POST /oauth/token` with
`grant_type=authorization_code` exchanges; tests approve with
`POST /_sandbox/oauth/approve {"url": "<authorization URL>"}`, answered `{"code": ...}`.

Sandbox-only endpoints live under `/_sandbox/` (see `mastod.sandbox.routes.admin`):
`POST /_sandbox/act` makes another account act (mention, favourite, reblog, follow, status);
`/_sandbox/faults` programs fault injection (see `mastod.sandbox.faults`).

Notifications leave the sandbox as they leave Mastodon, both ways at once:

* **Web Push** (`mastod.sandbox.push_delivery`, `mastod.sandbox.webpush`): each one is
  encrypted (`aes128gcm`, or legacy `aesgcm` for a subscription without `standard`), signed
  with the sandbox's VAPID key (`Sandbox.vapid_private_key`, shown as `server_key`) and
  POSTed to every push subscription of the recipient whose alerts and policy allow it, in
  the background, with retries; every attempt is kept in `Sandbox.push_deliveries`, and
  `await running.push.settle()` waits for the deliveries in flight. Loopback endpoints are
  allowed, unlike Mastodon.
* **Streaming** (`mastod.sandbox.routes.streaming`): `ws://<sandbox>/api/v1/streaming` with
  `stream=user:notification` (or `user`), and Server-Sent Events under the same path; each
  event's `payload` is the JSON text of the entity `GET /api/v1/notifications/:id` returns.
  `sandbox.faults.drop_streams()` cuts every streaming connection, to test reconnecting.

Beyond those, new notifications call every `Sandbox.on_notification` callback as
`callback(recipient_account_id, notification_entity)`.

Watch the whole pipeline by hand (no account, no network), in three terminals::

    $ mastod serve --sandbox      # logs `sandbox.started url=http://127.0.0.1:<port>`
    $ mastod listen               # prints each notification the daemon fans out, as JSON
    $ curl -s -X POST http://127.0.0.1:<port>/_sandbox/act \
          -H 'Content-Type: application/json' -d '{"action": "mention", "text": "hi"}'

Every `act` makes bob mention (or favourite, reblog, follow) alice; the notification reaches
the daemon by streaming or Web Push (its `notifications.source`) and `mastod listen` prints
it. To see the sandbox's own stream without the daemon::

    $ curl -N -H 'Authorization: Bearer sandbox-owner-token' \
          http://127.0.0.1:<port>/api/v1/streaming/user/notification
"""

from __future__ import annotations

from mastod.sandbox.app import RunningSandbox, create_app, start_sandbox
from mastod.sandbox.constants import (
    APP_TOKEN,
    CLIENT_ID,
    CLIENT_SECRET,
    OTHER_TOKEN,
    OWNER_TOKEN,
    READ_ONLY_TOKEN,
)
from mastod.sandbox.faults import Fault, Faults
from mastod.sandbox.keys import SANDBOX_KEY
from mastod.sandbox.push_delivery import PushDelivery
from mastod.sandbox.recorded import RecordedPush, RecordedRequest, RecordedResponse
from mastod.sandbox.state import Sandbox
from mastod.sandbox.streams import Streams

__all__ = [
    "APP_TOKEN",
    "CLIENT_ID",
    "CLIENT_SECRET",
    "OTHER_TOKEN",
    "OWNER_TOKEN",
    "READ_ONLY_TOKEN",
    "SANDBOX_KEY",
    "Fault",
    "Faults",
    "PushDelivery",
    "RecordedPush",
    "RecordedRequest",
    "RecordedResponse",
    "RunningSandbox",
    "Sandbox",
    "Streams",
    "create_app",
    "start_sandbox",
]
