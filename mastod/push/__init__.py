"""Web Push: receive Mastodon notifications on a webhook published through a tunnel.

`keys` (key pair, auth secret, webhook path secret kept in `state_dir`), `vapid` (who sent
it), `decrypt` (aes128gcm and legacy aesgcm), `webhook` (the public app: `POST /push/<secret>`
only, acknowledged at once), `receiver` (verify, decrypt, hand on), `subscription` (the
Mastodon side), composed by `service.PushService`. Nothing here may import `mastod.rpc`: the
webhook is what the tunnel exposes, and it must not be able to reach RPC even by mistake.
"""
