"""Helpers for page tests: a deployed six-node process with its review form, and a session login."""
from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import DATA

REVIEW_SCHEMA = {
    "title": "Review the case",
    "type": "object",
    "required": ["approved"],
    "properties": {
        "approved": {"type": "boolean", "title": "Approved"},
        "comment": {"type": "string", "title": "Comment"},
        "amount": {"type": "integer", "title": "Amount", "minimum": 0},
        "channel": {"type": "string", "title": "Channel", "enum": ["mail", "phone", "counter"]},
    },
}


SEARCHABLE = (b'<bpmn:extensionElements><spiffworkflow:properties>'
              b'<spiffworkflow:property name="searchableVariables" value="ssn, name" />'
              b'</spiffworkflow:properties></bpmn:extensionElements>')


def six_node_xml() -> bytes:
    """six_node.bpmn with `ssn` and `name` declared searchable (the inbox search looks them up)."""
    xml = (DATA / "bpmn" / "six_node.bpmn").read_bytes()
    marker = b'isExecutable="true">'
    return xml.replace(marker, marker + SEARCHABLE, 1)


def deploy_six_node(api: Any) -> Any:
    """Deploy the six-node diagram with the review form it names."""
    response = api.deploy(("six_node.bpmn", six_node_xml()),
                          ("review-schema.json", json.dumps(REVIEW_SCHEMA).encode()))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def start_case(api: Any, business_key: str, **variables: Any) -> dict[str, Any]:
    """Start a six_node instance; returns the instance JSON (its review task is open)."""
    variables.setdefault("ssn", "2900675000001")  # the diagram's first script reads it
    response = api.post("/process-instances", json={"processDefinitionKey": "six_node", "businessKey": business_key,
                                                    "variables": variables})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture
def web_login(client: Any, make_user: Any) -> Any:
    """web_login(name, role='agent', queues=()) signs a new user in through /login on the shared client."""

    def _login(name: str, role: str = "agent", queues: tuple[str, ...] | list[str] = (), *,
               create: bool = True) -> Any:
        if create:
            make_user(name, role, queues)
        response = client.post("/login", data={"username": name, "password": "pw-secret"})
        assert response.status_code == 302, response.data[:500]
        return client

    return _login
