"""Schemathesis checks for forloeb-gateway: no 5xx, and no answer that breaks the access rules.

Schemathesis' own `not_a_server_error` treats every GraphQL error as a failure; here FORBIDDEN
and BAD_USER_INPUT are the right answers to most generated queries, so these checks replace it.
The role being fuzzed comes from FUZZ_ROLE and FUZZ_CLAIM (the token's cpr or ydernummer); the
people a clinician may see are read from the feed fixture, not from the gateway under test.
"""

import json
import os
import pathlib

import schemathesis

ROLE = os.environ.get("FUZZ_ROLE", "")
CLAIM = os.environ.get("FUZZ_CLAIM", "")
THRESHOLD = int(os.environ.get("FUZZ_THRESHOLD", "5"))
FEED = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "feed"

# Fields that only ever describe a person, whatever type holds them.
PERSON_FIELDS = {
    "cpr", "birthDate", "sex", "goals", "measurements", "diagnoses", "history", "entries",
    "patientMark", "actingFor",
}
KNOWN_CODES = {
    "BAD_REQUEST", "BAD_USER_INPUT", "FORBIDDEN", "OPERATION_LIMIT", "GRAPHQL_VALIDATION_FAILED",
    "PERSISTED_QUERY_REQUIRED", "PERSISTED_QUERY_NOT_FOUND", "UNAUTHENTICATED", "TIMEOUT",
    "DISCLOSURE_BUDGET", "OVERLOADED", "REQUEST_TIMEOUT", "CONFLICT", None,
}
LEAKS = ("select ", "insert ", "sqlite", "postgres", "diesel", ".rs:", "panicked", "/src/")


def _lines(name):
    for line in (FEED / name).read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict):
            yield row


def _clinic_people(ydernummer):
    # Listed at the clinic (a line with "listed": false is no listing), or treated by it.
    people = {
        r.get("cpr")
        for r in _lines("patients.ndjson")
        if r.get("ydernummer") == ydernummer and r.get("listed", True) is not False
    }
    people |= {r.get("cpr") for r in _lines("plans.ndjson") if r.get("ydernummer") == ydernummer}
    return people


ALLOWED_CPRS = (
    {CLAIM} if ROLE == "patient" else _clinic_people(CLAIM) if ROLE == "clinician" else set()
)


def _walk(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield path + (key,), key, value
            yield from _walk(value, path + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, path + (i,))


@schemathesis.check
def no_server_error(ctx, response, case):
    """Never a 5xx, and always a GraphQL-shaped JSON body."""
    if response.status_code >= 500:
        raise AssertionError(f"{response.status_code}: {response.text[:500]}")
    try:
        body = json.loads(response.text)
    except ValueError as e:
        raise AssertionError(f"not JSON ({e}): {response.text[:200]}")
    if not isinstance(body, dict) or ("data" not in body and "errors" not in body):
        raise AssertionError(f"not a GraphQL response: {response.text[:200]}")


@schemathesis.check
def access_rules(ctx, response, case):
    """Person data only for its own patient or the clinician's patients; suppressed counts
    for regions and the ministry; nothing but the version and the patients' entries on their
    own plans for suppliers; clean errors."""
    try:
        body = json.loads(response.text)
    except ValueError:
        return
    for error in body.get("errors") or []:
        message = str(error.get("message", "")).lower()
        code = (error.get("extensions") or {}).get("code")
        if code not in KNOWN_CODES:
            raise AssertionError(f"unexpected error code {code}: {error}")
        for leak in LEAKS:
            if leak in message:
                raise AssertionError(f"error message leaks {leak!r}: {error}")
    data = body.get("data")
    for path, key, value in _walk(data):
        if value is None:
            continue
        if key == "cpr" and value not in ALLOWED_CPRS:
            raise AssertionError(f"{ROLE} {CLAIM} got CPR {value} at {path}")
        # `sex` under `bySex` is the label of an aggregate group (SexCount), not a person's.
        person_field = key in PERSON_FIELDS and not (key == "sex" and "bySex" in path)
        if person_field and ROLE not in ("patient", "clinician"):
            raise AssertionError(f"{ROLE} got person field {key} at {path}")
        if ROLE in ("region", "ministry") and isinstance(value, dict) and "suppressed" in value:
            count = value.get("value")
            if isinstance(count, int) and 0 < count < THRESHOLD:
                raise AssertionError(f"{ROLE} got a count of {count} at {path}")
            # Only a clinic's own clinicians get exact person counts.
            if value.get("controlled") is False:
                raise AssertionError(f"{ROLE} got an exact person count at {path}")
        entries = bool(path) and path[0] == "patientEntries"
        if ROLE == "supplier" and key not in ("apiVersion", "__typename") and not entries and not isinstance(
            value, (dict, list)
        ):
            raise AssertionError(f"supplier got {key} at {path}")
