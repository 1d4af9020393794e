"""Python's gql client: the schema fetched by introspection, documents checked against it
before they are sent, and the steering group's national status as the ministry.

    GATEWAY_URL=http://127.0.0.1:8080/graphql TOKEN=<ministry token> python national_status.py
"""

import os
from pathlib import Path

from gql import Client, gql
from gql.transport.requests import RequestsHTTPTransport

OPERATIONS = Path(__file__).resolve().parent.parent.parent / "schema" / "operations"

transport = RequestsHTTPTransport(
    url=os.environ.get("GATEWAY_URL", "http://127.0.0.1:8080/graphql"),
    headers={"Authorization": f"Bearer {os.environ['TOKEN']}"},
    timeout=30,
)
with Client(transport=transport, fetch_schema_from_transport=True) as session:
    # A local check first: a misspelt field fails here, before any request.
    status = session.execute(
        gql((OPERATIONS / "NationalStatus.graphql").read_text()),
        variable_values={"asOf": "2022-05-18"},
    )
    rollout = status["rollout"]
    print(f"open clinics: {rollout['openClinics']}")
    print(f"OK22 met by {rollout['ok22']['met']} clinics ({rollout['ok22']['share']:.1%})")
    ytd = rollout["yearToDate"]
    print(f"plans in {ytd['year']}: {ytd['plans']} of {ytd['target']}")
    for m in status["milestones"]:
        print(f"milestone {m['number']}: {m['status']}")
    types = sorted(t.name for t in session.client.schema.type_map.values() if t.name[0] != "_")
    print(f"schema fetched by introspection: {len(types)} types, Query among them: {'Query' in types}")
