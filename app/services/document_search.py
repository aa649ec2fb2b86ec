"""Full-text search over the OCR text, one service for both databases.

PostgreSQL: the generated tsvector of each page (configurations guichet_fr + guichet_en, GIN
index), queried with websearch_to_tsquery in both configurations OR-ed; ranked by ts_rank_cd,
snippet by ts_headline on the original text. Accents are ignored both ways: the text and the
question are folded by guichet_unaccent() and the configurations unaccent each word (migration
0007_search_unaccent), so `securite` finds `Sécurité` and the snippet still shows `Sécurité`.
SQLite: the FTS5 table over the pages (porter stemmer, accents removed), queried with every word
of the question (AND); ranked by bm25, snippet by snippet().

A document is ranked by its best page; only `indexed` documents are searched. Snippets are
HTML-escaped text with the matched words in <mark>...</mark>. Ranks are comparable within one
answer only (the two databases score differently).
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, func, select, text

from app.errors import BadRequestError
from app.extensions import db
from app.models.document import DOCUMENT_STATUSES, Document
from app.models.registry import Case
from app.services.paging import decode_cursor, encode_cursor

MAX_LIMIT = 100
DEFAULT_LIMIT = 20
MAX_QUERY_LENGTH = 500
# Sentinels the database puts around matched words; replaced by <mark> once the text is escaped.
_START, _STOP = "\x02", "\x03"
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class DocumentFilter:
    subject: str | None = None
    process_instance_id: int | None = None
    document_type: str | None = None
    status: str | None = None
    verification_code: str | None = None


@dataclass(frozen=True)
class Hit:
    document: Document
    page: int | None = None
    snippet: str | None = None
    rank: float | None = None


@dataclass(frozen=True)
class HitPage:
    items: list[Hit]
    total: int
    end_cursor: str | None


def _check(limit: int, q: str | None, flt: DocumentFilter) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequestError(f"limit must be from 1 to {MAX_LIMIT}", [{"field": "limit", "message": "1-100"}])
    if q is not None and len(q) > MAX_QUERY_LENGTH:
        raise BadRequestError(f"q is limited to {MAX_QUERY_LENGTH} characters", [{"field": "q", "message": "too long"}])
    if flt.status is not None and flt.status not in DOCUMENT_STATUSES:
        raise BadRequestError(f"status must be one of {', '.join(DOCUMENT_STATUSES)}",
                              [{"field": "status", "message": "unknown status"}])


def _filtered(stmt: Select[Any], flt: DocumentFilter) -> Select[Any]:
    if flt.subject:
        stmt = stmt.where(Document.subject == re.sub(r"[\s.\-]", "", flt.subject))
    if flt.process_instance_id is not None:
        cases = select(Case.id).where(Case.process_instance_id == flt.process_instance_id).scalar_subquery()
        stmt = stmt.where((Document.process_instance_id == flt.process_instance_id) | Document.case_id.in_(cases))
    if flt.document_type:
        stmt = stmt.where(Document.document_type == flt.document_type)
    if flt.status:
        stmt = stmt.where(Document.status == flt.status)
    if flt.verification_code:
        stmt = stmt.where(Document.verification_code == re.sub(r"[\s\-]", "", flt.verification_code).upper())
    return stmt


def list_documents(flt: DocumentFilter, limit: int = DEFAULT_LIMIT, after: str | None = None) -> HitPage:
    """Documents matching the filter, newest first (keyset paging on received_at, id)."""
    _check(limit, None, flt)
    stmt = _filtered(select(Document), flt)
    total = db.session.scalar(_filtered(select(func.count(Document.id)), flt)) or 0
    if after:
        values = decode_cursor(after)
        if len(values) != 2 or not isinstance(values[1], int):
            raise BadRequestError("invalid page cursor", [{"field": "after", "message": "not a cursor this server issued"}])
        received, last_id = values
        stmt = stmt.where((Document.received_at < received)
                          | and_(Document.received_at == received, Document.id < last_id))
    rows = list(db.session.scalars(stmt.order_by(Document.received_at.desc(), Document.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = encode_cursor([rows[-1].received_at, rows[-1].id]) if more and rows else None
    return HitPage([Hit(d) for d in rows], total, cursor)


def search_documents(q: str, flt: DocumentFilter = DocumentFilter(), limit: int = DEFAULT_LIMIT,
                     after: str | None = None) -> HitPage:
    """Indexed documents whose text matches q, best first, with the best page's snippet."""
    _check(limit, q, flt)
    offset = 0
    if after:
        values = decode_cursor(after)
        if len(values) != 1 or not isinstance(values[0], int) or values[0] < 0:
            raise BadRequestError("invalid page cursor", [{"field": "after", "message": "not a cursor this server issued"}])
        offset = values[0]
    where, params = _filter_sql(flt)
    if db.session.get_bind().dialect.name == "postgresql":
        rows, total = _search_postgresql(q, where, params, limit, offset)
    else:
        rows, total = _search_sqlite(q, where, params, limit, offset)
    documents = {d.id: d for d in db.session.scalars(select(Document).where(Document.id.in_([r[0] for r in rows])))}
    items = [Hit(documents[doc_id], page, _mark(snippet), rank) for doc_id, page, snippet, rank in rows
             if doc_id in documents]
    cursor = encode_cursor([offset + limit]) if offset + limit < total else None
    return HitPage(items, total, cursor)


def _mark(snippet: str | None) -> str | None:
    """Escape the text, then turn the sentinels into <mark> tags."""
    if snippet is None:
        return None
    escaped = html.escape(" ".join(snippet.split()), quote=False)
    return escaped.replace(_START, "<mark>").replace(_STOP, "</mark>")


def _filter_sql(flt: DocumentFilter) -> tuple[str, dict[str, Any]]:
    """The WHERE clause on documents `d` of a search (only indexed documents), with its parameters."""
    clauses: list[str] = ["d.status = 'indexed'"]
    params: dict[str, Any] = {}
    if flt.subject:
        clauses.append("d.subject = :subject")
        params["subject"] = re.sub(r"[\s.\-]", "", flt.subject)
    if flt.process_instance_id is not None:
        clauses.append("(d.process_instance_id = :instance_id OR d.case_id IN "
                       "(SELECT c.id FROM cases c WHERE c.process_instance_id = :instance_id))")
        params["instance_id"] = flt.process_instance_id
    if flt.document_type:
        clauses.append("d.document_type = :document_type")
        params["document_type"] = flt.document_type
    if flt.verification_code:
        clauses.append("d.verification_code = :code")
        params["code"] = re.sub(r"[\s\-]", "", flt.verification_code).upper()
    return " AND ".join(clauses), params


def _search_postgresql(q: str, where: str, params: dict[str, Any], limit: int, offset: int
                       ) -> tuple[list[tuple[int, int, str | None, float]], int]:
    params = dict(params)
    params.update(q=q, limit=limit, offset=offset,
                  opts=f"StartSel={_START}, StopSel={_STOP}, MaxWords=30, MinWords=12, MaxFragments=2, "
                       'FragmentDelimiter=" … "')
    hits = f"""
        WITH query AS (
            SELECT fr || en AS tsq, fr, en FROM (
                SELECT websearch_to_tsquery('guichet_fr', guichet_unaccent(:q)) AS fr,
                       websearch_to_tsquery('guichet_en', guichet_unaccent(:q)) AS en) AS folded
        ), best AS (
            SELECT DISTINCT ON (p.document_id) p.document_id, p.id AS page_id, p.number,
                   ts_rank_cd(p.search_vector, query.tsq) AS rank
            FROM document_pages p CROSS JOIN query
            JOIN documents d ON d.id = p.document_id
            WHERE p.search_vector @@ query.tsq AND {where}
            ORDER BY p.document_id, rank DESC, p.number
        )"""
    total = db.session.execute(text(hits + " SELECT count(*) FROM best"), params).scalar() or 0
    if total == 0:
        return [], 0
    page_sql = hits + """
        SELECT b.document_id, b.number,
               CASE WHEN position(:start in ts_headline('guichet_fr', p.text, query.fr, :opts)) > 0
                    THEN ts_headline('guichet_fr', p.text, query.fr, :opts)
                    ELSE ts_headline('guichet_en', p.text, query.en, :opts) END,
               b.rank
        FROM (SELECT * FROM best ORDER BY rank DESC, document_id DESC LIMIT :limit OFFSET :offset) b
        JOIN document_pages p ON p.id = b.page_id CROSS JOIN query
        ORDER BY b.rank DESC, b.document_id DESC"""
    params["start"] = _START
    rows = db.session.execute(text(page_sql), params).all()
    return [(int(r[0]), int(r[1]), r[2], float(r[3])) for r in rows], int(total)


def fts5_query(q: str) -> str | None:
    """Every word of the question as a quoted FTS5 string (AND): no FTS5 syntax reaches the engine."""
    words = _WORD.findall(q)
    if not words:
        return None
    return " ".join('"' + w.replace('"', '""') + '"' for w in words[:32])


def _search_sqlite(q: str, where: str, params: dict[str, Any], limit: int, offset: int
                   ) -> tuple[list[tuple[int, int, str | None, float]], int]:
    match = fts5_query(q)
    if match is None:
        return [], 0
    params = dict(params)
    params.update(match=match, limit=limit, offset=offset)
    best = f"""
        WITH scored AS (
            SELECT p.document_id, p.id AS page_id, p.number, bm25(document_pages_fts) AS score
            FROM document_pages_fts JOIN document_pages p ON p.id = document_pages_fts.rowid
            JOIN documents d ON d.id = p.document_id
            WHERE document_pages_fts MATCH :match AND {where}
        ), ranked AS (
            SELECT document_id, page_id, number, score,
                   row_number() OVER (PARTITION BY document_id ORDER BY score, number) AS n
            FROM scored
        )"""
    total = db.session.execute(text(best + " SELECT count(*) FROM ranked WHERE n = 1"), params).scalar()
    if not total:
        return [], 0
    rows = db.session.execute(text(best + """
        SELECT document_id, page_id, number, score FROM ranked WHERE n = 1
        ORDER BY score, document_id DESC LIMIT :limit OFFSET :offset"""), params).all()
    if not rows:
        return [], int(total)
    page_ids = [int(r[1]) for r in rows]
    marks = ", ".join(f":p{i}" for i in range(len(page_ids)))
    snippets: dict[int, str] = {int(row[0]): row[1] for row in db.session.execute(
        text(f"SELECT rowid, snippet(document_pages_fts, 0, :start, :stop, ' … ', 24) FROM document_pages_fts "
             f"WHERE document_pages_fts MATCH :match AND rowid IN ({marks})"),
        {"match": match, "start": _START, "stop": _STOP, **{f"p{i}": pid for i, pid in enumerate(page_ids)}},
    )}
    # bm25 is lower for better matches; the API's rank is higher for better ones.
    return [(int(r[0]), int(r[2]), snippets.get(int(r[1])), -float(r[3])) for r in rows], int(total)
