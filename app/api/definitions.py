"""Deployments and process definitions."""
from __future__ import annotations

from flask import Response, jsonify, request

from app.api import api_bp
from app.api.helpers import current_user, in_transaction
from app.api.views import definition_json, statistics_json
from app.errors import BadRequestError
from app.services import deployments, processes
from app.uploads import read_deployment_files


@api_bp.post("/deployments")
def create_deployment():  # type: ignore[no-untyped-def]
    if not request.mimetype.startswith("multipart/form-data"):
        raise BadRequestError("send the files as multipart/form-data in the field `files`")
    files = read_deployment_files()
    result = in_transaction(lambda: deployments.deploy_files(files, current_user()))
    body = {"id": result.deployment.id, "definitions": [
        {"id": d.id, "key": d.key, "version": d.version, "name": d.name} for d in result.definitions]}
    return jsonify(body), 201


@api_bp.get("/process-definitions")
def list_process_definitions():  # type: ignore[no-untyped-def]
    key = request.args.get("key")
    return jsonify([definition_json(d) for d in deployments.list_definitions(key)])



@api_bp.get("/process-definitions/<int:definition_id>")
def get_process_definition(definition_id: int):  # type: ignore[no-untyped-def]
    definition = processes.get_definition_by_id(definition_id)
    body = definition_json(definition)
    body["userTasks"] = definition.model.get("user_tasks", [])
    body["serviceTasks"] = definition.model.get("service_tasks", [])
    body["searchableVariables"] = definition.searchable_variables
    return jsonify(body)


@api_bp.get("/process-definitions/<int:definition_id>/xml")
def get_process_definition_xml(definition_id: int):  # type: ignore[no-untyped-def]
    definition = processes.get_definition_by_id(definition_id)
    return Response(definition.bpmn_file.content, mimetype="application/xml")


@api_bp.get("/process-definitions/<int:definition_id>/statistics")
def get_process_definition_statistics(definition_id: int):  # type: ignore[no-untyped-def]
    return jsonify([statistics_json(c) for c in processes.definition_statistics(definition_id)])
