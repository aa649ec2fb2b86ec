"""accent-insensitive full-text search on PostgreSQL (securite finds sécurité and the other way round)

Revision ID: 0007_search_unaccent
Revises: 0006_merge_areas
Create Date: 2026-12-02 12:00:00

PostgreSQL: two text search configurations, guichet_fr and guichet_en (copies of french and
english), whose word mappings run the `unaccent` dictionary before the stemmer; and an
IMMUTABLE function guichet_unaccent(text) (the extension's function is only STABLE, so it cannot
go into a generated column). document_pages.search_vector is rebuilt as
to_tsvector('guichet_fr', guichet_unaccent(text)) || to_tsvector('guichet_en', ...), which
re-reads every existing page; queries fold the question the same way (app.services.document_search).
ts_headline runs on the original text with the configuration, so snippets keep the accents and
still mark the accented words.

When the unaccent extension cannot be installed (not shipped, or no right to create it),
guichet_unaccent is a translate() of the Latin accented letters and the configurations are plain
copies: searches still ignore accents; a snippet then marks only the words written without them.

SQLite needs nothing: its FTS5 tokenizer already removes diacritics (remove_diacritics 2).
"""
from __future__ import annotations

import logging

from alembic import context, op
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

revision = "0007_search_unaccent"
down_revision = "0006_merge_areas"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

CONFIGURATIONS = (("guichet_fr", "french"), ("guichet_en", "english"))
# Token types that may carry accents (asciiword and friends never do).
ACCENTED_TOKENS = "hword, hword_part, word"
# One letter for one letter, so translate() can do it; the ligatures are replaced afterwards.
LETTERS = (
    ("A", "ÀÁÂÃÄÅĀĂĄ"), ("a", "àáâãäåāăą"), ("C", "ÇĆĈĊČ"), ("c", "çćĉċč"), ("D", "ĎĐ"), ("d", "ďđ"),
    ("E", "ÈÉÊËĒĔĖĘĚ"), ("e", "èéêëēĕėęě"), ("G", "ĜĞĠĢ"), ("g", "ĝğġģ"), ("H", "ĤĦ"), ("h", "ĥħ"),
    ("I", "ÌÍÎÏĨĪĬĮİ"), ("i", "ìíîïĩīĭįı"), ("J", "Ĵ"), ("j", "ĵ"), ("K", "Ķ"), ("k", "ķ"),
    ("L", "ĹĻĽĿŁ"), ("l", "ĺļľŀł"), ("N", "ÑŃŅŇ"), ("n", "ñńņň"), ("O", "ÒÓÔÕÖØŌŎŐ"), ("o", "òóôõöøōŏő"),
    ("R", "ŔŖŘ"), ("r", "ŕŗř"), ("S", "ŚŜŞŠ"), ("s", "śŝşš"), ("T", "ŢŤŦ"), ("t", "ţťŧ"),
    ("U", "ÙÚÛÜŨŪŬŮŰŲ"), ("u", "ùúûüũūŭůűų"), ("W", "Ŵ"), ("w", "ŵ"), ("Y", "ÝŸŶ"), ("y", "ýÿŷ"),
    ("Z", "ŹŻŽ"), ("z", "źżž"),
)
ACCENTED = "".join(accented for _plain, accented in LETTERS)
PLAIN = "".join(plain * len(accented) for plain, accented in LETTERS)
LIGATURES = (("Œ", "OE"), ("œ", "oe"), ("Æ", "AE"), ("æ", "ae"), ("ß", "ss"))

OLD_VECTOR = "to_tsvector('french'::regconfig, text) || to_tsvector('english'::regconfig, text)"
NEW_VECTOR = ("to_tsvector('guichet_fr'::regconfig, guichet_unaccent(text)) || "
              "to_tsvector('guichet_en'::regconfig, guichet_unaccent(text))")


def _ident(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def install_unaccent(conn: Connection) -> str | None:
    """The schema of the unaccent extension (installed here when missing), or None when it cannot be."""
    if context.is_offline_mode():  # an SQL script for a DBA: assume the extension can be created
        op.execute("CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public")
        return "public"
    if conn.execute(text("SELECT 1 FROM pg_available_extensions WHERE name = 'unaccent'")).first() is None:
        log.warning("the unaccent extension is not available: accents are folded by translate()")
        return None
    try:
        # A savepoint: a refusal (no right to create extensions) must not abort the migration.
        with conn.begin_nested():
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS unaccent"))
    except DBAPIError as exc:
        log.warning("cannot create the unaccent extension (%s): accents are folded by translate()",
                    type(exc.orig).__name__)
        return None
    return str(conn.execute(text(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'unaccent'")).scalar_one())


def fold_function_sql(schema: str | None) -> str:
    """guichet_unaccent(text): IMMUTABLE accent removal, by the unaccent dictionary or by translate()."""
    if schema is not None:
        qualified = f"{_ident(schema)}.unaccent"
        # The two-argument form with a schema-qualified dictionary does not depend on search_path,
        # which is what makes declaring it IMMUTABLE safe.
        body = f"SELECT {qualified}('{qualified}'::regdictionary, $1)"
    else:
        body = f"SELECT translate($1, '{ACCENTED}', '{PLAIN}')"
        for ligature, letters in LIGATURES:
            body = body.replace("SELECT ", "SELECT replace(", 1) + f", '{ligature}', '{letters}')"
    return (f"CREATE OR REPLACE FUNCTION guichet_unaccent(text) RETURNS text "
            f"LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fold$ {body} $fold$")


def configuration_sql(schema: str | None) -> list[str]:
    """guichet_fr and guichet_en: french and english, with unaccent before the stemmer when it exists."""
    statements = []
    for name, parent in CONFIGURATIONS:
        statements += [f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {name}",
                       f"CREATE TEXT SEARCH CONFIGURATION {name} (COPY = {parent})"]
        if schema is not None:
            statements.append(f"ALTER TEXT SEARCH CONFIGURATION {name} ALTER MAPPING FOR {ACCENTED_TOKENS} "
                              f"WITH {_ident(schema)}.unaccent, {parent}_stem")
    return statements


def _rebuild_vector(expression: str) -> None:
    # A generated column's expression cannot be altered before PostgreSQL 17: drop it and add it
    # again, which computes it for every existing page.
    op.execute("DROP INDEX IF EXISTS ix_document_pages_search_vector")
    op.execute("ALTER TABLE document_pages DROP COLUMN IF EXISTS search_vector")
    op.execute("ALTER TABLE document_pages ADD COLUMN search_vector tsvector "
               f"GENERATED ALWAYS AS ({expression}) STORED")
    op.execute("CREATE INDEX ix_document_pages_search_vector ON document_pages USING GIN (search_vector)")


def upgrade():
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    schema = install_unaccent(conn)
    for statement in [fold_function_sql(schema), *configuration_sql(schema)]:
        op.execute(statement)
    _rebuild_vector(NEW_VECTOR)


def downgrade():
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    _rebuild_vector(OLD_VECTOR)
    for name, _parent in CONFIGURATIONS:
        op.execute(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {name}")
    op.execute("DROP FUNCTION IF EXISTS guichet_unaccent(text)")
    # The unaccent extension stays: other objects of the database may use it.
