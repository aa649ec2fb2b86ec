"""Analyst modeler: bpmn-js editor with Guichet's properties, validate / deploy, multi-file deployments, forms."""
from __future__ import annotations

import json
from itertools import groupby
from typing import Any

from flask import Blueprint, Response, current_app, flash, jsonify, render_template, request
from flask_babel import gettext as _

from app.errors import BadRequestError, NotFoundError, PayloadTooLargeError
from app.extensions import db
from app.models import ProcessDefinition
from app.services import dashboard, deployments, processes
from app.services import forms as form_service
from app.uploads import read_deployment_files
from app.web.common import MODELER_ROLES, actor, in_transaction, roles_required
from app.web.schema_forms import build_fields

modeler_bp = Blueprint("modeler", __name__, url_prefix="/modeler")



def _catalogue() -> list[tuple[str, list[ProcessDefinition]]]:
    """(key, versions newest first) of every deployed process."""
    return [(key, list(group)) for key, group in groupby(deployments.list_definitions(), key=lambda d: d.key)]


def _json_files() -> list[tuple[str, bytes]]:
    """`files: [{name, content}]` of a JSON body, as deploy_files wants them."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("files"), list):
        raise BadRequestError("send {\"files\": [{\"name\", \"content\"}]}", [{"field": "files", "message": "list"}])
    files = []
    total = 0
    for i, item in enumerate(body["files"]):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not isinstance(item.get("content"), str):
            raise BadRequestError(f"files[{i}] needs a name and a content",
                                  [{"field": f"files[{i}]", "message": "name and content strings"}])
        content = item["content"].encode("utf-8")
        total += len(content)
        files.append((item["name"], content))
    if total > current_app.config["MAX_DEPLOYMENT_BYTES"]:
        raise PayloadTooLargeError(f"deployments are limited to {current_app.config['MAX_DEPLOYMENT_BYTES']} bytes")
    return files


def _summary(result: deployments.DeploymentResult) -> list[dict[str, Any]]:
    return [{"id": d.id, "key": d.key, "version": d.version, "name": d.name, "created": d in result.created}
            for d in result.definitions]


@modeler_bp.get("")
@roles_required(*MODELER_ROLES)
def new_diagram():  # type: ignore[no-untyped-def]
    return render_template("modeler/modeler.html", definition=None, catalogue=_catalogue(),
                           forms=dashboard.latest_forms())


@modeler_bp.get("/<int:definition_id>")
@roles_required(*MODELER_ROLES)
def edit_diagram(definition_id: int):  # type: ignore[no-untyped-def]
    return render_template("modeler/modeler.html", definition=processes.get_definition_by_id(definition_id), catalogue=_catalogue(),
                           forms=dashboard.latest_forms())


@modeler_bp.get("/<int:definition_id>/xml")
@roles_required(*MODELER_ROLES)
def diagram_xml(definition_id: int):  # type: ignore[no-untyped-def]
    return Response(processes.get_definition_by_id(definition_id).bpmn_file.content, mimetype="application/xml")


@modeler_bp.post("/validate")
@roles_required(*MODELER_ROLES)
def validate():  # type: ignore[no-untyped-def]
    files = _json_files()
    # A dry run of the real deployment: the same checks, then everything is rolled back.
    try:
        result = deployments.deploy_files(files, actor())
        summary = _summary(result)
    finally:
        db.session.rollback()
    return jsonify({"ok": True, "definitions": summary})


@modeler_bp.post("/deploy")
@roles_required(*MODELER_ROLES)
def deploy():  # type: ignore[no-untyped-def]
    files = _json_files()
    result = in_transaction(lambda: deployments.deploy_files(files, actor()))
    summary = _summary(result)
    created = [d for d in summary if d["created"]]
    if created:
        flash(_("Deployed %(what)s.", what=", ".join(f"{d['key']} v{d['version']}" for d in created)), "success")
    elif summary:
        flash(_("Nothing changed: %(what)s is already deployed.",
                what=", ".join(f"{d['key']} v{d['version']}" for d in summary)))
    else:
        flash(_("Deployed %(what)s.", what=", ".join(name for name, _content in files)), "success")
    return jsonify({"deploymentId": result.deployment.id, "definitions": summary}), 201


@modeler_bp.post("/deployments")
@roles_required(*MODELER_ROLES)
def upload_deployment():  # type: ignore[no-untyped-def]
    files = read_deployment_files()
    result = in_transaction(lambda: deployments.deploy_files(files, actor()))
    return jsonify({"deploymentId": result.deployment.id, "files": len(files), "definitions": _summary(result)}), 201


@modeler_bp.get("/forms")
@roles_required(*MODELER_ROLES)
def forms():  # type: ignore[no-untyped-def]
    return render_template("modeler/forms.html", forms=dashboard.latest_forms(), form=None,
                           schema=json.dumps(NEW_FORM, indent=2), ui_schema=json.dumps(NEW_UI, indent=2))


@modeler_bp.get("/forms/<form_key>")
@roles_required(*MODELER_ROLES)
def edit_form(form_key: str):  # type: ignore[no-untyped-def]
    form = form_service.latest_form(form_key)
    if form is None:
        raise NotFoundError(f"no form {form_key!r}")
    return render_template("modeler/forms.html", forms=dashboard.latest_forms(), form=form,
                           schema=json.dumps(form.schema, indent=2, ensure_ascii=False),
                           ui_schema=json.dumps(form.ui_schema or {}, indent=2, ensure_ascii=False))


@modeler_bp.post("/forms/preview")
@roles_required(*MODELER_ROLES)
def preview_form():  # type: ignore[no-untyped-def]
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("schema"), dict):
        raise BadRequestError("send {\"schema\": {...}, \"uiSchema\": {...}}", [{"field": "schema", "message": "object"}])
    ui = body.get("uiSchema") if isinstance(body.get("uiSchema"), dict) else None
    fields = build_fields(body["schema"], ui, {})
    return render_template("modeler/_preview.html", schema=body["schema"], fields=fields)


NEW_FORM: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "New form",
    "type": "object",
    "required": ["decision"],
    "properties": {
        "decision": {"type": "string", "title": "Decision", "enum": ["approve", "reject"]},
        "comment": {"type": "string", "title": "Comment"},
    },
}
NEW_UI: dict[str, Any] = {"ui:order": ["decision", "comment"], "comment": {"ui:widget": "textarea"}}
