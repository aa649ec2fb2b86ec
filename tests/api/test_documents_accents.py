"""Full-text search ignores accents on both databases, and snippets keep them.

French users type `securite` for `sécurité` (and the other way round): both must find both
spellings. SQLite's FTS5 tokenizer removes diacritics; PostgreSQL folds text and question with
guichet_unaccent() and the guichet_fr / guichet_en configurations (migration 0007_search_unaccent).
"""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.api.documents_support import file_ok, run_ocr, text_pdf

ACCENTED = ["Attestation de la Sécurité sociale",
            "Madame Hélène Dupré relève du régime général de SÉCURITÉ SOCIALE depuis son élection.",
            "Les indemnités journalières sont versées après le délai de carence."]
PLAIN = ["Note interne sur la securite des donnees du service",
         "Dossier suivi par Helene pour le regime general, sans aucun accent.",
         "Les donnees sont conservees selon les regles internes."]
UNRELATED = ["Relevé annuel des cotisations patronales", "Contributions were received for the quarter."]
VERSIONS = Path(__file__).resolve().parents[2] / "app" / "migrations" / "versions"


def _ids(api: Any, q: str) -> set[int]:
    response = api.get("/documents", query_string={"q": q})
    assert response.status_code == 200, response.get_json()
    return {item["id"] for item in response.get_json()["items"]}


def _filed(app: Any, agent: Any, reg: Any) -> tuple[int, int, int]:
    ids = []
    for lines in (ACCENTED, PLAIN, UNRELATED):
        document_id = file_ok(agent, text_pdf(lines), reg.helene)["id"]
        assert run_ocr(app, document_id) == "indexed"
        ids.append(document_id)
    return ids[0], ids[1], ids[2]


def test_words_are_found_with_or_without_their_accents(app, agent, reg):  # type: ignore[no-untyped-def]
    accented, plain, _unrelated = _filed(app, agent, reg)
    for q in ("securite", "sécurité", "Sécurité", "SECURITE", "SÉCURITÉ", "sécurite"):
        assert _ids(agent, q) == {accented, plain}, q
    for q in ("helene", "Hélène", "HELENE"):
        assert _ids(agent, q) == {accented, plain}, q
    # Several words, all of them folded; a word of one document only still narrows the answer.
    assert _ids(agent, "securite sociale") == {accented}
    assert _ids(agent, "sécurité données") == {plain}
    assert _ids(agent, "regime general") == {accented, plain}
    assert _ids(agent, "élection") == _ids(agent, "election") == {accented}
    assert _ids(agent, "indemnites carence") == {accented}


def test_snippets_show_the_words_as_written_and_mark_them(app, agent, reg):  # type: ignore[no-untyped-def]
    accented, plain, _unrelated = _filed(app, agent, reg)
    for q in ("securite", "sécurité"):
        items = {i["id"]: i["snippet"] for i in agent.get("/documents", query_string={"q": q}).get_json()["items"]}
        assert re.search(r"<mark>Sécurité</mark>", items[accented]), items[accented]
        assert "securite" not in items[accented].lower().replace("sécurité", "")
        assert re.search(r"<mark>securite</mark>", items[plain]), items[plain]
    hit = agent.get("/documents", query_string={"q": "helene"}).get_json()["items"]
    snippet = next(i["snippet"] for i in hit if i["id"] == accented)
    assert "<mark>Hélène</mark>" in snippet, snippet


def _migration() -> Any:
    spec = importlib.util.spec_from_file_location("search_unaccent", VERSIONS / "0007_search_unaccent.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pages_stored_before_the_migration_are_found_after_it(app, agent, reg):  # type: ignore[no-untyped-def]
    """Downgrade below the accent migration, then upgrade: the existing pages are indexed again."""
    from flask_migrate import downgrade, upgrade

    from app.extensions import db

    accented, plain, _unrelated = _filed(app, agent, reg)
    directory = str(Path(app.root_path) / "migrations")
    with app.app_context():
        db.session.remove()
        try:
            downgrade(directory=directory, revision="0006_merge_areas")
            if db.engine.dialect.name == "postgresql":
                with db.engine.connect() as conn:
                    # The old index: French stems with their accents, so `securite` misses `Sécurité`.
                    old = conn.execute(text(
                        "SELECT document_id FROM document_pages WHERE search_vector @@ "
                        "(websearch_to_tsquery('french', 'securite') || websearch_to_tsquery('english', 'securite'))"
                    )).scalars().all()
                    assert set(old) == {plain}
                    names = conn.execute(text("SELECT cfgname FROM pg_ts_config WHERE cfgname LIKE 'guichet%'")
                                         ).scalars().all()
                    assert names == []
        finally:
            upgrade(directory=directory, revision="heads")
            db.session.remove()
    assert _ids(agent, "securite") == {accented, plain}
    assert _ids(agent, "Hélène") == {accented, plain}


@pytest.fixture
def postgresql(app):  # type: ignore[no-untyped-def]
    from app.extensions import db

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL only")
        with db.engine.connect() as conn:
            yield conn
            conn.rollback()
        db.session.remove()


def test_the_fold_function_is_immutable_and_usable_in_an_index(postgresql):  # type: ignore[no-untyped-def]
    volatility = postgresql.execute(text("SELECT provolatile FROM pg_proc WHERE proname = 'guichet_unaccent'")
                                    ).scalar_one()
    assert volatility == "i"
    assert postgresql.execute(text("SELECT guichet_unaccent('Sécurité, Hélène, cœur')")).scalar_one() == \
        "Securite, Helene, coeur"


def test_without_the_extension_translate_folds_the_accents(postgresql):  # type: ignore[no-untyped-def]
    """The fallback for servers where unaccent cannot be installed, built in a scratch schema."""
    migration = _migration()
    postgresql.execute(text("CREATE SCHEMA fold_fallback"))
    postgresql.execute(text("SET LOCAL search_path = fold_fallback"))
    for statement in [migration.fold_function_sql(None), *migration.configuration_sql(None)]:
        postgresql.execute(text(statement))
    folded = postgresql.execute(text(
        "SELECT guichet_unaccent('Sécurité sociale : Hélène, ÉLÈVE, cœur, Œuvre, Ærø, straße, façade, naïf')"
    )).scalar_one()
    assert folded == "Securite sociale : Helene, ELEVE, coeur, OEuvre, AEro, strasse, facade, naif"
    # IMMUTABLE for real: PostgreSQL accepts it in a generated column and an index expression.
    postgresql.execute(text(
        "CREATE TABLE pages (body text, v tsvector GENERATED ALWAYS AS "
        "(to_tsvector('guichet_fr'::regconfig, guichet_unaccent(body))) STORED)"))
    postgresql.execute(text("CREATE INDEX ON pages USING GIN (v)"))
    postgresql.execute(text("INSERT INTO pages (body) VALUES ('La Sécurité sociale'), ('la securite des donnees')"))
    for q in ("securite", "sécurité"):
        found = postgresql.execute(text(
            "SELECT count(*) FROM pages WHERE v @@ websearch_to_tsquery('guichet_fr', guichet_unaccent(:q))"),
            {"q": q}).scalar_one()
        assert found == 2, q
