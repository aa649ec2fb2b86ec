"""Public certificate check: /verify/<code> says whether a certificate is genuine and what it states.

No sign-in: whoever holds the paper (a bank, a landlord, an administration) checks it here. The
code has 60 random bits, so codes cannot be guessed; the page hides the middle of the SSN.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from app.models.registry import Certificate
from app.services.certificates import (
    CERTIFICATE_TYPES,
    find_by_code,
    format_code,
    format_ssn,
    mask_ssn,
    normalize_code,
)

verify_bp = Blueprint("verify", __name__)


def _public_statement(certificate: Certificate) -> dict[str, Any]:
    """The stored statement with the person's SSN masked."""
    statement = dict(certificate.statement)
    if certificate.subject_type == "person":
        full, masked = format_ssn(certificate.subject), mask_ssn(certificate.subject)
        statement["lines"] = [line.replace(full, masked) for line in statement.get("lines", [])]
    return statement


@verify_bp.get("/verify")
def verify_form():  # type: ignore[no-untyped-def]
    code = request.args.get("code", "").strip()
    if code:
        return redirect(url_for("verify.verify_certificate", code=normalize_code(code) or code))
    return render_template("verify.html", certificate=None, asked=None,
                           institution=current_app.config["INSTITUTION_NAME"])


@verify_bp.get("/verify/<code>")
def verify_certificate(code: str):  # type: ignore[no-untyped-def]
    certificate = find_by_code(code)
    institution = current_app.config["INSTITUTION_NAME"]
    if certificate is None:
        return render_template("verify.html", certificate=None, asked=code, institution=institution), 404
    kind = CERTIFICATE_TYPES.get(certificate.type)
    response = render_template(
        "verify.html", certificate=certificate, asked=code, institution=institution,
        statement=_public_statement(certificate), code=format_code(certificate.verification_code),
        title=kind.title if kind else certificate.type,
        subject_id=mask_ssn(certificate.subject) if certificate.subject_type == "person" else certificate.subject,
        expired=certificate.valid_until is not None and certificate.valid_until < date.today())
    return response, 200, {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}
