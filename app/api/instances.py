"""Process instances: start, read, search, operate, history."""
from __future__ import annotations

from flask import jsonify

from app.api import api_bp
from app.api.helpers import current_user, in_transaction, int_field, json_body, str_field
from app.api.views import event_json, instance_json, instance_summary_json
from app.services import processes, search


@api_bp.post("/process-instances")
def start_process_instance():  # type: ignore[no-untyped-def]
    body = json_body()
    key = str_field(body, "processDefinitionKey", required=True) or ""
    version = int_field(body, "version")
    business_key = str_field(body, "businessKey")
    # Shaped inside the transaction: the answer's reads (tasks, incidents, documents) need no second one.
    return jsonify(in_transaction(lambda: instance_json(processes.start_process(
        key, current_user(), version=version, business_key=business_key, variables=body.get("variables"))))), 201


@api_bp.get("/process-instances/<int:instance_id>")
def get_process_instance(instance_id: int):  # type: ignore[no-untyped-def]
    return jsonify(instance_json(processes.get_instance(instance_id)))


@api_bp.post("/process-instances/search")
def search_process_instances():  # type: ignore[no-untyped-def]
    body = json_body(allow_empty=True)
    page = search.search_instances(body.get("filter"), body.get("sort"), body.get("page"))
    return jsonify({"items": [instance_summary_json(p) for p in page.items],
                    "page": {"totalItems": page.total, "endCursor": page.end_cursor}})


@api_bp.post("/process-instances/<int:instance_id>/suspension")
def suspend_process_instance(instance_id: int):  # type: ignore[no-untyped-def]
    in_transaction(lambda: processes.suspend_instance(instance_id, current_user()))
    return "", 204


@api_bp.post("/process-instances/<int:instance_id>/resumption")
def resume_process_instance(instance_id: int):  # type: ignore[no-untyped-def]
    in_transaction(lambda: processes.resume_instance(instance_id, current_user()))
    return "", 204


@api_bp.post("/process-instances/<int:instance_id>/cancellation")
def cancel_process_instance(instance_id: int):  # type: ignore[no-untyped-def]
    in_transaction(lambda: processes.cancel_instance(instance_id, current_user()))
    return "", 204


@api_bp.post("/process-instances/<int:instance_id>/timer-firing")
def fire_process_instance_timer(instance_id: int):  # type: ignore[no-untyped-def]
    body = json_body()
    element_id = str_field(body, "elementId", required=True) or ""
    instance = in_transaction(lambda: processes.fire_timer(instance_id, element_id, current_user()))
    return jsonify(instance_json(instance))


@api_bp.get("/process-instances/<int:instance_id>/history")
def get_process_instance_history(instance_id: int):  # type: ignore[no-untyped-def]
    return jsonify([event_json(e) for e in processes.instance_history(instance_id)])
