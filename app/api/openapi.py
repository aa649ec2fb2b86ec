"""The OpenAPI 3 document of API v1, served at /api/v1/openapi.json."""
from __future__ import annotations

from typing import Any

from flask import jsonify

from app.api import api_bp

S = dict[str, Any]


def ref(name: str) -> S:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(props: S, required: list[str] | None = None) -> S:
    schema: S = {"type": "object", "properties": props}
    if required:
        schema["required"] = required
    return schema


STR, INT, BOOL = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
DT = {"type": "string", "format": "date-time", "nullable": True}
NSTR = {"type": "string", "nullable": True}
ANYOBJ = {"type": "object", "additionalProperties": True}

SCHEMAS: S = {
    "Problem": obj({"type": STR, "title": STR, "status": INT, "detail": STR,
                    "errors": {"type": "array", "items": ANYOBJ}}, ["title", "status"]),
    "TokenRequest": obj({"username": STR, "password": STR}, ["username", "password"]),
    "Token": obj({"access_token": STR, "token_type": STR, "expires_in": INT}),
    "Deployment": obj({"id": INT, "definitions": {"type": "array", "items": obj(
        {"id": INT, "key": STR, "version": INT, "name": NSTR})}}),
    "ProcessDefinition": obj({"id": INT, "key": STR, "version": INT, "name": NSTR, "deployedAt": DT,
                              "deployedBy": NSTR, "deploymentId": INT}),
    "ElementStatistics": obj({"elementId": STR, "active": INT, "completed": INT, "incidents": INT}),
    "StartInstance": obj({"processDefinitionKey": STR, "version": INT, "businessKey": STR,
                          "variables": ANYOBJ}, ["processDefinitionKey"]),
    "Task": obj({"id": INT, "name": NSTR, "elementId": STR, "processInstanceId": INT,
                 "processDefinitionKey": STR, "businessKey": NSTR, "queue": NSTR, "assignee": NSTR,
                 "state": {"type": "string", "enum": ["open", "completed", "cancelled"]}, "priority": INT,
                 "dueAt": DT, "createdAt": DT, "completedAt": DT, "formKey": NSTR, "overdue": BOOL}),
    "TaskDetail": {"allOf": [ref("Task"), obj({"form": obj({"schema": ANYOBJ, "uiSchema": ANYOBJ}),
                                               "variables": ANYOBJ})]},
    "Incident": obj({"id": INT, "processInstanceId": INT, "jobId": INT, "elementId": NSTR, "topic": NSTR,
                     "state": STR, "message": STR, "createdAt": DT, "resolvedAt": DT}),
    "Waiting": obj({"type": {"type": "string", "enum": ["message", "signal", "timer"]}, "name": NSTR,
                    "elementId": STR, "correlationKey": STR, "dueAt": DT}),
    "InstanceSummary": obj({"id": INT, "processDefinitionId": INT, "processDefinitionKey": STR, "version": INT,
                            "businessKey": NSTR, "status": {"type": "string", "enum": [
                                "running", "completed", "suspended", "terminated", "failed"]},
                            "startedAt": DT, "endedAt": DT}),
    "Instance": {"allOf": [ref("InstanceSummary"), obj({
        "variables": ANYOBJ, "activeElementIds": {"type": "array", "items": STR},
        "completedElementIds": {"type": "array", "items": STR},
        "openTasks": {"type": "array", "items": ref("Task")},
        "incidents": {"type": "array", "items": ref("Incident")},
        "waitingFor": {"type": "array", "items": ref("Waiting")}})]},
    "Event": obj({"at": DT, "type": STR, "elementId": NSTR, "taskId": {"type": "integer", "nullable": True},
                  "actor": NSTR, "details": ANYOBJ}),
    "Search": obj({"filter": ANYOBJ, "sort": {"type": "array", "items": obj(
        {"field": STR, "order": {"type": "string", "enum": ["asc", "desc"]}})},
                   "page": obj({"limit": INT, "after": STR})}),
    "PageInfo": obj({"totalItems": INT, "endCursor": NSTR}),
    "TaskPage": obj({"items": {"type": "array", "items": ref("Task")}, "page": ref("PageInfo")}),
    "InstancePage": obj({"items": {"type": "array", "items": ref("InstanceSummary")}, "page": ref("PageInfo")}),
    "Assignment": obj({"assignee": STR}),
    "Completion": obj({"variables": ANYOBJ}),
    "CompletionResult": obj({"task": ref("Task"), "processInstance": ref("Instance")}),
    "Message": obj({"name": STR, "correlationKey": STR, "variables": ANYOBJ}, ["name"]),
    "Signal": obj({"name": STR, "variables": ANYOBJ}, ["name"]),
    "TimerFiring": obj({"elementId": STR}, ["elementId"]),
}

# Other modules (documents, incidents, registry...) add their paths and schemas here at import time.
EXTRA_PATHS: S = {}


def _json(schema: S) -> S:
    return {"content": {"application/json": {"schema": schema}}}


def _problem(*codes: int) -> S:
    texts = {400: "Malformed request", 401: "Not authenticated", 403: "Not allowed", 404: "Not found",
             409: "Conflict", 410: "Gone", 413: "Too large", 415: "Unsupported media type",
             422: "Validation failed", 503: "Unavailable"}
    return {str(c): {"description": texts[c], "content": {"application/problem+json": {"schema": ref("Problem")}}}
            for c in codes}


def op(summary: str, response: S | None, *, status: int = 200, body: S | None = None, errors: tuple[int, ...] = (),
       params: list[S] | None = None, tag: str = "", public: bool = False, body_type: str = "application/json") -> S:
    """One OpenAPI operation."""
    responses: S = {str(status): {"description": "OK"} if response is None else {"description": "OK", **_json(response)}}
    responses.update(_problem(*sorted(set(errors) | ({400} if body else set()) | (set() if public else {401}))))
    operation: S = {"summary": summary, "responses": responses, "tags": [tag] if tag else []}
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {body_type: {"schema": body}}}
    if params:
        operation["parameters"] = params
    if public:
        operation["security"] = []
    return operation


def path_id(name: str) -> S:
    return {"name": name, "in": "path", "required": True, "schema": INT}


def build_spec() -> S:
    """The whole OpenAPI document."""
    iid, tid, did = [path_id("id")], [path_id("id")], [path_id("id")]
    paths: S = {
        "/auth/token": {"post": op("Get a bearer token", ref("Token"), body=ref("TokenRequest"), errors=(401,),
                                   tag="auth", public=True)},
        "/deployments": {"post": op("Deploy BPMN, DMN and form files (all or nothing)", ref("Deployment"),
                                    status=201, errors=(403, 413, 422), tag="definitions",
                                    body=obj({"files": {"type": "array", "items": {"type": "string",
                                                                                   "format": "binary"}}}),
                                    body_type="multipart/form-data")},
        "/process-definitions": {"get": op("List definitions, latest first", {"type": "array",
                                                                              "items": ref("ProcessDefinition")},
                                           params=[{"name": "key", "in": "query", "schema": STR}],
                                           tag="definitions")},
        "/process-definitions/{id}": {"get": op("A definition", ref("ProcessDefinition"), params=did, errors=(404,),
                                                tag="definitions")},
        "/process-definitions/{id}/xml": {"get": {**op("The BPMN as deployed", None, params=did, errors=(404,),
                                                       tag="definitions")}},
        "/process-definitions/{id}/statistics": {"get": op("Per-element counts", {"type": "array", "items": ref(
            "ElementStatistics")}, params=did, errors=(404,), tag="definitions")},
        "/process-instances": {"post": op("Start an instance", ref("Instance"), status=201,
                                          body=ref("StartInstance"), errors=(403, 404, 422), tag="instances")},
        "/process-instances/search": {"post": op("Search instances", ref("InstancePage"), body=ref("Search"),
                                                 tag="instances")},
        "/process-instances/{id}": {"get": op("An instance", ref("Instance"), params=iid, errors=(404,),
                                              tag="instances")},
        "/process-instances/{id}/history": {"get": op("Ordered events", {"type": "array", "items": ref("Event")},
                                                      params=iid, errors=(404,), tag="instances")},
        "/process-instances/{id}/timer-firing": {"post": op("Fire a waiting timer now", ref("Instance"),
                                                            params=iid, body=ref("TimerFiring"),
                                                            errors=(403, 404, 409), tag="instances")},
        "/tasks/search": {"post": op("Search tasks of your queues", ref("TaskPage"), body=ref("Search"),
                                     errors=(403,), tag="tasks")},
        "/tasks/counts": {"get": op("Open and overdue tasks per visible queue (the inbox tabs)", obj(
            {"queues": {"type": "array", "items": obj({"queue": STR, "open": INT, "overdue": INT})}}), tag="tasks")},
        "/tasks/{id}": {"get": op("A task with its form and variables", ref("TaskDetail"), params=tid,
                                  errors=(403, 404), tag="tasks")},
        "/tasks/{id}/assignment": {
            "post": op("Claim (or assign) a task", ref("Task"), params=tid, body=ref("Assignment"),
                       errors=(403, 404, 409), tag="tasks"),
            "delete": op("Unclaim a task", None, status=204, params=tid, errors=(403, 404, 409), tag="tasks")},
        "/tasks/{id}/completion": {"post": op("Complete a task with form data", ref("CompletionResult"),
                                              params=tid, body=ref("Completion"), errors=(403, 404, 409, 422),
                                              tag="tasks")},
        "/messages": {"post": op("Correlate a message", obj({"processInstanceId": INT}), body=ref("Message"),
                                 errors=(404, 409), tag="messages")},
        "/signals": {"post": op("Broadcast a signal", obj({"processInstanceIds": {"type": "array", "items": INT}}),
                                body=ref("Signal"), tag="messages")},
    }
    for action, summary in (("suspension", "Suspend"), ("resumption", "Resume"), ("cancellation", "Cancel")):
        paths[f"/process-instances/{{id}}/{action}"] = {"post": op(f"{summary} an instance", None, status=204,
                                                                   params=iid, errors=(403, 404, 409),
                                                                   tag="instances")}
    paths.update(EXTRA_PATHS)
    return {
        "openapi": "3.0.3",
        "info": {"title": "Guichet API", "version": "1.0.0",
                 "description": "Front and back office of a social security institution, driven by BPMN."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "components": {"schemas": SCHEMAS, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": paths,
    }


@api_bp.get("/openapi.json")
def openapi_spec():  # type: ignore[no-untyped-def]
    return jsonify(build_spec())
