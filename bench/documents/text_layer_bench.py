"""Text-layer PDFs through the OCR task: pages per second, storage and database included.

Files a PDF of N text pages (reportlab, French and English sentences) through the documents
service, then runs the OCR task body (workers.tasks.ocr.process_document: read the original
from the object store, read every text layer, store the pages, index them for full-text
search, mark the document indexed) and times it. The same bytes through the bare library
(workers.ocr.extract_text) give the reference in the same run. Median of --runs runs, each
on a new document.

    .venv/bin/python bench/documents/text_layer_bench.py [--pages 200] [--runs 3]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_documents]

Results are printed and written to bench/results/text_layer-<time>.json.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from intake_bench import SSN13, ensure_database, reset_postgres

SENTENCES = [
    "Les indemnités journalières sont versées après un délai de carence de trois jours ouvrés.",
    "Le numéro de sécurité sociale figure sur la carte vitale et sur les bulletins de paie.",
    "Employers declare salaries every month through the nominative social declaration.",
    "The insured person must send the certificate within forty-eight hours of the prescription.",
    "Les cotisations patronales sont calculées sur le salaire brut de chaque période d'emploi.",
    "Le versement de la pension de retraite intervient le neuvième jour de chaque mois.",
]


def text_pdf(pages: int, run: int) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4)
    for n in range(pages):
        pdf.setFont("Helvetica", 10)
        y = A4[1] - 60
        pdf.drawString(60, y, f"Run {run} - page {n + 1} of {pages}")
        y -= 20
        for i in range(40):
            for part in textwrap.wrap(SENTENCES[(n + i) % len(SENTENCES)], 95):
                pdf.drawString(60, y, part)
                y -= 13
        pdf.showPage()
    pdf.save()
    return buf.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database-url", default="", help="PostgreSQL URL (its public schema is emptied!)")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="guichet-textlayer-"))
    settings = {"DATA_DIR": str(workdir), "SECRET_KEY": "bench", "BROKER_URL": "memory://", "LOG_LEVEL": "WARNING"}
    if args.database_url:
        ensure_database(args.database_url)
        reset_postgres(args.database_url)
        settings["DATABASE_URL"] = args.database_url

    from datetime import date

    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db
    from app.models import User
    from app.models.registry import Person
    from app.services import documents
    from app.services.registry import search_text
    from app.services.users import create_user
    from workers.ocr import extract_text
    from workers.tasks.ocr import process_document
    from workflows.helpers import ssn_key

    flask_app = create_app(**settings)
    ssn = SSN13 + ssn_key(SSN13)
    task_rates, library_rates = [], []
    with flask_app.app_context():
        upgrade(directory=str(Path(flask_app.root_path) / "migrations"), revision="heads")
        create_user("bench", "bench-password", "agent")
        db.session.add(Person(ssn=ssn, last_name="Dupré", first_names="Hélène", search_name=search_text("Dupré"),
                              birth_date=date(1985, 7, 14), sex="F"))
        db.session.commit()
        agent = db.session.query(User).filter_by(username="bench").one()
        for run in range(args.runs):
            data = text_pdf(args.pages, run)
            started = time.perf_counter()
            result = extract_text(data)
            library_rates.append(len(result.pages) / (time.perf_counter() - started))
            document = documents.file_document(documents.Upload(io.BytesIO(data), "long.pdf"), "other", agent,
                                               subject=ssn, max_bytes=100 * 1024 * 1024)
            db.session.commit()
            started = time.perf_counter()
            outcome = process_document(document.id)
            task_rates.append(args.pages / (time.perf_counter() - started))
            assert outcome == "indexed", outcome
    report = {
        "what": "text-layer PDF pages per second",
        "database": "postgresql" if args.database_url else "sqlite",
        "pages": args.pages, "runs": args.runs, "pdfBytes": len(data),
        "taskPagesPerSecond": round(statistics.median(task_rates), 1),
        "libraryPagesPerSecond": round(statistics.median(library_rates), 1),
        "allTaskRates": [round(r, 1) for r in task_rates],
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "system": platform.platform()},
    }
    print(json.dumps(report, indent=2))
    out = ROOT / "bench" / "results" / f"text_layer-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
