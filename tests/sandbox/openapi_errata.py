"""Where openapi.json is wrong about Mastodon, and how `openapi_check` deviates from it.

Each entry names the fault, gives the evidence, and (for schema faults) patches the loaded
copy of the schema; the file on disk is never changed. Keep the list short: add an entry only
for a fault shown by PROVENANCE.md / PROTOCOL.md or by the server's documented behaviour.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Erratum:
    name: str
    reason: str
    patch: Callable[[dict[str, Any]], None] | None = None


def _patch_push_subscription(spec: dict[str, Any]) -> None:
    schema = spec["components"]["schemas"]["WebPushSubscription"]
    schema["properties"]["id"] = {"type": ["string", "integer"]}
    schema["properties"]["policy"] = {
        "type": "string",
        "enum": ["all", "followed", "follower", "none"],
    }
    schema["properties"]["alerts"].pop("required", None)


def _patch_v1_filters_list(spec: dict[str, Any]) -> None:
    content = spec["paths"]["/api/v1/filters"]["get"]["responses"]["200"]["content"]
    content["application/json"]["schema"] = {
        "type": "array",
        "items": {"$ref": "#/components/schemas/V1Filter"},
    }


def _patch_status_body_any_of(spec: dict[str, Any]) -> None:
    content = spec["paths"]["/api/v1/statuses"]["post"]["requestBody"]["content"]
    schema = content["application/json"]["schema"]
    schema["anyOf"] = schema.pop("oneOf")


def _patch_media_put_206(spec: dict[str, Any]) -> None:
    responses = spec["paths"]["/api/v1/media/{id}"]["put"]["responses"]
    responses["206"] = {**responses["200"], "description": "Partial content (still processing)"}


def _patch_validation_error_details(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    strict = json.loads(json.dumps(schemas["ValidationError"]))
    schemas["RegistrationValidationError"] = strict
    schemas["ValidationError"]["required"] = ["error"]
    content = spec["paths"]["/api/v1/accounts"]["post"]["responses"]["422"]["content"]
    content["application/json"]["schema"] = {
        "$ref": "#/components/schemas/RegistrationValidationError"
    }


def _patch_apps_redirect_uris(spec: dict[str, Any]) -> None:
    content = spec["paths"]["/api/v1/apps"]["post"]["requestBody"]["content"]
    schema = content["application/json"]["schema"]["properties"]["redirect_uris"]
    schema["type"] = ["array", "string"]


def _patch_oauth_token_grants(spec: dict[str, Any]) -> None:
    content = spec["paths"]["/oauth/token"]["post"]["requestBody"]["content"]
    content["application/json"]["schema"]["required"] = ["grant_type"]


def _patch_status_quote_any_of(spec: dict[str, Any]) -> None:
    quote = spec["components"]["schemas"]["Status"]["properties"]["quote"]
    quote["anyOf"] = quote.pop("oneOf")


ERRATA: tuple[Erratum, ...] = (
    Erratum(
        "push-subscription-entity",
        "PROTOCOL.md §1.3.1/§2.1: the server's WebPushSubscriptionSerializer emits `id` as a "
        "JSON integer, adds `policy`, and `alerts` holds only the stored (requested) types "
        "(the recorded 4.6.4 answer has 7 keys, no `update`); the schema types `id` as string, "
        "lacks `policy` and requires every alert type.",
        _patch_push_subscription,
    ),
    Erratum(
        "status-quote-any-of",
        "Status.quote is oneOf Quote/ShallowQuote/null, but both objects require only `state` "
        "and allow other keys, so every Quote (`state` + `quoted_status`, what "
        "REST::StatusSerializer renders for a post fetched directly, docs entities/Quote) also "
        "matches ShallowQuote and oneOf rejects it; anyOf is what the server sends.",
        _patch_status_quote_any_of,
    ),
    Erratum(
        "v1-filters-list",
        "GET /api/v1/filters is described as 'List of [V1::Filter]' (and the server renders "
        "`@filters` with `each_serializer`), but its schema is a single V1Filter.",
        _patch_v1_filters_list,
    ),
    Erratum(
        "status-body-any-of",
        "POST /api/v1/statuses takes oneOf TextStatus/MediaStatus/PollStatus, but these overlap: "
        "a post with text and media matches both TextStatus and MediaStatus, so oneOf rejects "
        "the ordinary captioned media post. Mastodon needs text or media (PROTOCOL.md §4.5, "
        "PostStatusService), so anyOf is what the server accepts.",
        _patch_status_body_any_of,
    ),
    Erratum(
        "media-put-206",
        "PROTOCOL.md §4.5: `PUT /api/v1/media/:id` answers 206 while the attachment is still "
        "processing, as GET does (MediaController renders `status_code_for_media_attachment`); "
        "the schema declares only 200 for PUT.",
        _patch_media_put_206,
    ),
    Erratum(
        "validation-error-details",
        "163 operations declare their 422 as ValidationError, which requires `details`; "
        "Mastodon sends `details` only for account registration (PROTOCOL.md §4.4; "
        "Api::ErrorHandling renders `{error: ...}`). `details` stays required for "
        "POST /api/v1/accounts only.",
        _patch_validation_error_details,
    ),
    Erratum(
        "apps-redirect-uris-string",
        "POST /api/v1/apps: `redirect_uris` is a string (one URI, or several separated by "
        "newlines) on every Mastodon, and may be an array since 4.3 (mastodon/mastodon#29192, "
        "which kept the string form); clients such as masto.js type it `string | string[]`. "
        "The schema allows the array only.",
        _patch_apps_redirect_uris,
    ),
    Erratum(
        "oauth-token-grants",
        "POST /oauth/token requires `code` and `redirect_uri`, which only the "
        "authorization_code grant takes; its own `grant_type` text offers client_credentials, "
        "which Doorkeeper serves without them (PROTOCOL.md §4.6), and clients may "
        "authenticate with HTTP Basic instead of `client_id`/`client_secret`.",
        _patch_oauth_token_grants,
    ),
    Erratum(
        "form-bodies",
        "PROTOCOL.md §1.3.4: request bodies are modelled as JSON only, but Mastodon (Rails) "
        "takes form-encoded and multipart bodies too. Such bodies are decoded as Rails does "
        "(`a[]`, `a[b]`), their strings cast by the schema (booleans as "
        "ActiveModel::Type::Boolean), file parts taken as strings, and validated against the "
        "operation's body schema; parameters and security still go through openapi-core.",
    ),
    Erratum(
        "rails-array-query",
        "The schema names array query parameters without brackets (`types`, `id`), so "
        "`types=a&types=b`; Rails only reads `types[]=a&types[]=b` (a repeated bare key is one "
        "scalar). `key[]` query pairs are validated as `key`.",
    ),
    Erratum(
        "undeclared-error-statuses",
        "Operations declare only 401/404/410/422/429/503 (some 500), but Mastodon's shared "
        "Api::ErrorHandling also answers 400 (ParameterMissing) and 403 (scopes, "
        "NotPermittedError) on every endpoint (PROTOCOL.md §4.4). An undeclared 4xx/5xx is "
        "checked against the `Error` schema.",
    ),
)
