"""Typed keys for the aiohttp application and request state."""

from __future__ import annotations

from aiohttp import web

from mastod.sandbox.push_delivery import PushDelivery
from mastod.sandbox.ratelimit import RateLimiter
from mastod.sandbox.state import Sandbox

SANDBOX_KEY = web.AppKey("mastod.sandbox", Sandbox)
RATE_LIMITER_KEY = web.AppKey("mastod.sandbox.rate_limiter", RateLimiter)
PUSH_DELIVERY_KEY = web.AppKey("mastod.sandbox.push_delivery", PushDelivery)
RAW_BODY_KEY = web.RequestKey("mastod.sandbox.raw_body", bytes)
FAULT_KEY = web.RequestKey("mastod.sandbox.fault", str)
