"""Rendering of stored rows into the JSON entities Mastodon sends (openapi.json's schemas)."""
