"""Messages (correlated to one instance) and signals (broadcast)."""
from __future__ import annotations

from flask import jsonify

from app.api import api_bp
from app.api.helpers import current_user, in_transaction, json_body
from app.services import messages


@api_bp.post("/messages")
def correlate_message():  # type: ignore[no-untyped-def]
    body = json_body()
    instance = in_transaction(lambda: messages.correlate_message(
        body.get("name"), body.get("correlationKey"), body.get("variables"), current_user()))
    return jsonify({"processInstanceId": instance.id})


@api_bp.post("/signals")
def broadcast_signal():  # type: ignore[no-untyped-def]
    body = json_body()
    ids = in_transaction(lambda: messages.broadcast_signal(body.get("name"), body.get("variables"), current_user()))
    return jsonify({"processInstanceIds": ids})
