"""Incidents: failed automated steps, searched and retried by operators."""
from __future__ import annotations

from flask import jsonify

from app.api import api_bp
from app.api.helpers import current_user, in_transaction, json_body
from app.api.openapi import EXTRA_PATHS, INT, NSTR, SCHEMAS, STR, obj, op, path_id, ref
from app.api.views import incident_json
from app.services import incidents


@api_bp.post("/incidents/search")
def search_incidents():  # type: ignore[no-untyped-def]
    body = json_body(allow_empty=True)
    page = incidents.search_incidents(current_user(), body.get("filter"), body.get("sort"), body.get("page"))
    return jsonify({"items": [incident_json(i) for i in page.items],
                    "page": {"totalItems": page.total, "endCursor": page.end_cursor}})


@api_bp.post("/incidents/<int:incident_id>/retry")
def retry_incident(incident_id: int):  # type: ignore[no-untyped-def]
    incident = in_transaction(lambda: incidents.retry_incident(incident_id, current_user()))
    return jsonify(incident_json(incident)), 202


SCHEMAS["Incident"]["properties"].update({"errorCode": NSTR, "resolvedBy": NSTR})
SCHEMAS.update({
    "IncidentFilter": obj({"processInstanceId": INT, "state": {"type": "string", "enum": ["open", "resolved"]},
                           "topic": STR, "elementId": STR, "jobId": INT}),
    "IncidentSearch": obj({"filter": ref("IncidentFilter"), "sort": {"type": "array", "items": obj(
        {"field": {"type": "string", "enum": ["createdAt", "resolvedAt"]},
         "order": {"type": "string", "enum": ["asc", "desc"]}})}, "page": obj({"limit": INT, "after": STR})}),
    "IncidentPage": obj({"items": {"type": "array", "items": ref("Incident")}, "page": ref("PageInfo")}),
})

EXTRA_PATHS.update({
    "/incidents/search": {"post": op("Search incidents (failed automated steps)", ref("IncidentPage"),
                                     body=ref("IncidentSearch"), errors=(403,), tag="incidents")},
    "/incidents/{id}/retry": {"post": op("Resolve a job incident and run its job again", ref("Incident"),
                                         status=202, params=[path_id("id")], errors=(403, 404, 409),
                                         tag="incidents")},
})
