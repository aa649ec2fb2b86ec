"""`pdf.render`: a letter PDF from a template and variables, stored in the object store.

Input: `template` (a name under app/templates/letters) or `text` (an inline Jinja template),
`variables` (default: the whole input, which is the Camunda form), `title`, `filename`,
`reference`. Result: `{objectKey, sha256, size, contentType, filename, pages}`.
"""
from __future__ import annotations

import re
from typing import Any

from app.services.operations import JobContext, JobError, operation
from app.services.pdf_letters import LetterTemplateError, fill_template, render_pdf, store_pdf

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@operation("pdf.render", retries=2, backoff_seconds=5.0)
def render_letter(ctx: JobContext) -> dict[str, Any]:
    """Render the letter and store it; the stored PDF's reference."""
    params = ctx.input
    variables = params.get("variables")
    if variables is None:
        variables = params
    if not isinstance(variables, dict):
        raise JobError("INVALID_TEMPLATE", "`variables` must be an object")
    try:
        body = fill_template(params.get("template"), params.get("text"), variables)
    except LetterTemplateError as exc:
        raise JobError("INVALID_TEMPLATE", str(exc)) from exc
    title = str(params.get("title") or "Courrier")
    filename = _SAFE_NAME.sub("_", str(params.get("filename") or f"letter-{ctx.job_id}.pdf"))[:120]
    if not filename.lower().endswith(".pdf"):
        filename += ".pdf"
    data, pages = render_pdf(title, body, institution=str(ctx.config.get("INSTITUTION_NAME", "")),
                             reference=str(params.get("reference") or ctx.business_key or ctx.job_id))
    return store_pdf(ctx.config, data, filename, pages).as_dict()
