"""State changes, shared by the REST handlers, `/_sandbox/act` and the seed data.

Every notification is created by `ops.notify.notify`, the one place a push or streaming
module hooks into (through `Sandbox.on_notification`).
"""
