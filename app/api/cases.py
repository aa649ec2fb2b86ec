"""Cases over REST: open a case and start its process in one call; read a case with its current step."""
from __future__ import annotations

from flask import jsonify

from app.api import api_bp
from app.api.helpers import current_user, in_transaction, json_body, str_field
from app.api.openapi import ANYOBJ, EXTRA_PATHS, SCHEMAS, STR, obj, op, ref
from app.api.registry import case_json
from app.api.views import instance_json
from app.services import cases, registry


@api_bp.post("/cases")
def open_case():  # type: ignore[no-untyped-def]
    body = json_body()
    key = str_field(body, "processDefinitionKey", required=True)
    case, instance = in_transaction(lambda: cases.open_case_process(
        key, body.get("subject"), body.get("caseType"), body.get("channel"), current_user(),
        summary=body.get("summary"), variables=body.get("variables")))
    [view] = registry.case_views([case])
    return jsonify({"case": case_json(view), "processInstance": instance_json(instance)}), 201


@api_bp.get("/cases/<string:number>")
def get_case(number: str):  # type: ignore[no-untyped-def]
    case = in_transaction(lambda: cases.get_case(number, current_user()))
    [view] = registry.case_views([case])
    return jsonify({**case_json(view), "subject": case.subject, "subjectType": case.subject_type,
                    "openedBy": case.opened_by})


SCHEMAS.update({
    "OpenCase": obj({"processDefinitionKey": STR, "subject": STR, "caseType": STR,
                     "channel": {"type": "string", "enum": list(cases.CHANNELS)}, "summary": STR,
                     "variables": ANYOBJ}, ["processDefinitionKey", "subject", "channel"]),
    "CaseOpened": obj({"case": ref("CaseSummary"), "processInstance": ref("Instance")}),
    "Case": {"allOf": [ref("CaseSummary"), obj({"subject": STR, "subjectType": STR, "openedBy": STR})]},
})
EXTRA_PATHS.update({
    "/cases": {"post": op(
        "Open a case about a person (SSN) or an employer and start its process (business key = case number); "
        "400 names a wrong SSN or employer key, 422 an unknown subject, case type or channel",
        ref("CaseOpened"), status=201, body=ref("OpenCase"), errors=(403, 404, 422), tag="cases")},
    "/cases/{number}": {"get": op(
        "A case with its current step", ref("Case"), errors=(403, 404), tag="cases",
        params=[{"name": "number", "in": "path", "required": True, "schema": STR}])},
})
