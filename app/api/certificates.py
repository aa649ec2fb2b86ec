"""Certificates over REST: issue one at once, read it, download its PDF."""
from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify, url_for

from app.api import api_bp
from app.api.helpers import current_user, in_transaction, json_body, str_field
from app.api.views import iso
from app.errors import BadRequestError
from app.models.registry import Certificate
from app.services import certificates as certificate_service
from app.services.certificate_pdf import render_certificate_pdf
from app.services.certificates import format_code
from app.services.permissions import require_role
from app.services.registry import READ_RECORD_ROLES, log_record_access


def verify_url(certificate: Certificate) -> str:
    """The public page that checks a certificate (printed as a QR code)."""
    return url_for("verify.verify_certificate", code=certificate.verification_code, _external=True)


def certificate_json(c: Certificate) -> dict[str, Any]:
    return {"id": c.id, "number": c.number, "verificationCode": format_code(c.verification_code), "type": c.type,
            "subject": c.subject, "subjectType": c.subject_type, "subjectName": c.subject_name,
            "issuedAt": iso(c.issued_at), "issuedBy": c.issued_by,
            "validUntil": c.valid_until.isoformat() if c.valid_until else None, "statement": c.statement,
            "url": url_for("api.get_certificate_pdf", certificate_id=c.id, _external=True),
            "verifyUrl": verify_url(c)}


@api_bp.post("/certificates")
def issue_certificate():  # type: ignore[no-untyped-def]
    body = json_body()
    cert_type = str_field(body, "type", required=True) or ""
    subject = str_field(body, "subject", required=True) or ""
    options = {name: body[name] for name in ("periodFrom", "periodTo") if name in body}
    for name, value in options.items():
        if not isinstance(value, str):
            raise BadRequestError(f"{name} must be a string YYYY-MM", [{"field": name, "message": "YYYY-MM"}])
    certificate = in_transaction(lambda: certificate_service.issue_certificate(
        cert_type, subject, current_user(), current_app.config["INSTITUTION_NAME"], options=options))
    return jsonify(certificate_json(certificate)), 201


@api_bp.get("/certificates/<int:certificate_id>")
def get_certificate(certificate_id: int):  # type: ignore[no-untyped-def]
    require_role(current_user(), READ_RECORD_ROLES, "read certificates")
    return jsonify(certificate_json(certificate_service.get_certificate(certificate_id)))


@api_bp.get("/certificates/<int:certificate_id>/pdf")
def get_certificate_pdf(certificate_id: int):  # type: ignore[no-untyped-def]
    def work() -> Certificate:
        require_role(current_user(), READ_RECORD_ROLES, "read certificates")
        certificate = certificate_service.get_certificate(certificate_id)
        log_record_access(current_user(), certificate.subject_type, certificate.subject, "certificate_pdf")
        return certificate

    certificate = in_transaction(work)
    pdf = render_certificate_pdf(certificate, current_app.config["INSTITUTION_NAME"], verify_url(certificate))
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{certificate.number}.pdf"'})


# -- OpenAPI ------------------------------------------------------------------------------------
from app.api.openapi import ANYOBJ, DT, EXTRA_PATHS, SCHEMAS, STR, obj, op, path_id, ref

SCHEMAS.update({
    "CertificateRequest": obj({
        "type": {"type": "string", "enum": list(certificate_service.CERTIFICATE_TYPES)},
        "subject": {"type": "string", "description": "SSN (person certificates) or employer number"},
        "periodFrom": {"type": "string", "description": "YYYY-MM (contribution_statement, benefit_payment)"},
        "periodTo": {"type": "string", "description": "YYYY-MM; default: last month, over 12 months"}},
        ["type", "subject"]),
    "Certificate": obj({
        "id": {"type": "integer"}, "number": STR, "verificationCode": STR, "type": STR, "subject": STR,
        "subjectType": {"type": "string", "enum": ["person", "employer"]}, "subjectName": STR, "issuedAt": DT,
        "issuedBy": STR, "validUntil": {"type": "string", "format": "date", "nullable": True},
        "statement": obj({"title": STR, "lines": {"type": "array", "items": STR}, "table": {
            **obj({"columns": {"type": "array", "items": STR}, "rows": {"type": "array", "items": {
                "type": "array", "items": STR}}}), "nullable": True}, "facts": ANYOBJ}),
        "url": {"type": "string", "description": "the PDF"}, "verifyUrl": {
            "type": "string", "description": "public check page (also in the QR code)"}}),
})
_PDF = {"200": {"description": "The certificate as a PDF", "content": {"application/pdf": {
    "schema": {"type": "string", "format": "binary"}}}}}
_pdf_op = op("The certificate's PDF (number, date, statement, QR code and verification code)", None,
             params=[path_id("id")], errors=(403, 404), tag="certificates")
_pdf_op["responses"].update(_PDF)
EXTRA_PATHS.update({
    "/certificates": {"post": op(
        "Issue a certificate at once: affiliation, contribution_statement, employer_no_debt (409 when the "
        "employer owes contributions), benefit_payment", ref("Certificate"), status=201,
        body=ref("CertificateRequest"), errors=(403, 404, 409, 422), tag="certificates")},
    "/certificates/{id}": {"get": op("A certificate and what it states", ref("Certificate"), params=[path_id("id")],
                                     errors=(403, 404), tag="certificates")},
    "/certificates/{id}/pdf": {"get": _pdf_op},
})
