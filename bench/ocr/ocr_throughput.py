"""OCR throughput: the pipeline against bare tesseract on the same page images.

Makes N scan-like A4 pages at 300 dpi (known French and English text), then, in the
same run and interleaved, measures:
  - bare `tesseract page.png - -l LANGS` over the pages, with 1 and 2 processes;
  - workers.ocr.extract_text over the same PNG bytes, with 1 and 2 worker processes;
  - text-layer PDF pages per second (pdfium reader, and pdfplumber for comparison).
Each figure is the median of several runs. OMP_THREAD_LIMIT=1 for every tesseract
(the pipeline's setting), so one process uses one core.

    .venv/bin/python bench/ocr/ocr_throughput.py [--pages 12] [--runs 3]

Results are printed and written to bench/results/ocr_throughput-<time>.json.
"""
from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ["OMP_THREAD_LIMIT"] = "1"
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from workers.ocr import extract_text

PAGE = (2480, 3508)  # A4 at 300 dpi
SENTENCES = [
    "La caisse primaire d'assurance maladie rembourse les soins prescrits par le médecin traitant.",
    "Les indemnités journalières sont versées après un délai de carence de trois jours ouvrés.",
    "L'assuré doit transmettre l'avis d'arrêt de travail dans les quarante-huit heures.",
    "Le numéro de sécurité sociale figure sur la carte vitale et sur les bulletins de paie.",
    "Employers declare salaries every month through the nominative social declaration.",
    "The insured person must send the certificate within forty-eight hours of the prescription.",
    "Please enclose a copy of your identity card and your bank details with this form.",
    "Les cotisations patronales sont calculées sur le salaire brut de chaque période d'emploi.",
    "Contributions received after the due date are subject to a late payment surcharge.",
    "Le versement de la pension de retraite intervient le neuvième jour de chaque mois.",
]


def find_font() -> str:
    for name in ("DejaVuSans.ttf", "LiberationSans-Regular.ttf", "FreeSans.ttf", "Arial.ttf"):
        try:
            return ImageFont.truetype(name, 12).path
        except OSError:
            pass
    for base in (Path.home() / ".fonts", Path("/usr/share/fonts"), Path("/usr/local/share/fonts")):
        for path in base.rglob("*.ttf") if base.is_dir() else ():
            return str(path)
    raise SystemExit("no TrueType font found to render pages")


def make_page(seed: int, font: ImageFont.FreeTypeFont) -> Image.Image:
    """A dense page (about 40 lines at 11 pt) that looks scanned: soft edges and speckles."""
    rng = random.Random(seed)
    image = Image.new("L", PAGE, 255)
    draw = ImageDraw.Draw(image)
    y = 240
    draw.text((200, y), f"Dossier {rng.randint(100000, 999999)} - page {seed + 1}", font=font, fill=0)
    y += 110
    while y < PAGE[1] - 300:
        paragraph = " ".join(rng.sample(SENTENCES, 3))
        for line in textwrap.wrap(paragraph, 78):
            draw.text((200, y), line, font=font, fill=0)
            y += 72
            if y >= PAGE[1] - 300:
                break
        y += 40
    image = image.filter(ImageFilter.GaussianBlur(0.7))
    noise = Image.effect_noise(PAGE, 20)
    return Image.blend(image, noise.point(lambda v: 255 if v > 100 else 200), 0.06)


def text_pdf(pages: int) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    rng = random.Random(1)
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4)
    for _ in range(pages):
        pdf.setFont("Helvetica", 10)
        y = A4[1] - 60
        while y > 60:
            for line in textwrap.wrap(" ".join(rng.sample(SENTENCES, 3)), 100):
                pdf.drawString(50, y, line)
                y -= 13
                if y <= 60:
                    break
        pdf.showPage()
    pdf.save()
    return buf.getvalue()


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def run_bare(paths: list[Path], processes: int, languages: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds) for bare tesseract over every page, `processes` at a time."""

    def one(path: Path) -> None:
        subprocess.run(
            ["tesseract", str(path), "-", "-l", languages],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

    cpu = _cpu(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with ThreadPoolExecutor(processes) as pool:
        list(pool.map(one, paths))
    return time.perf_counter() - started, _cpu(resource.RUSAGE_CHILDREN) - cpu


def _pipeline_page(args: tuple[str, str]) -> tuple[float, float]:
    """In a worker: read one page; return (confidence, CPU seconds incl. tesseract)."""
    path, languages = args
    cpu = _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN)
    result = extract_text(Path(path).read_bytes(), languages=languages)
    return result.pages[0].confidence, _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN) - cpu


def run_pipeline(pool, paths: list[Path], languages: str) -> tuple[float, float, list[float]]:
    """(wall seconds, CPU seconds, page confidences) for the pipeline over every page."""
    started = time.perf_counter()
    out = list(pool.imap_unordered(_pipeline_page, [(str(p), languages) for p in paths]))
    return time.perf_counter() - started, sum(c for _, c in out), [conf for conf, _ in out]


def run_text_layer(data: bytes, pages: int, reader: str) -> float:
    started = time.perf_counter()
    result = extract_text(data, text_layer=reader)
    elapsed = time.perf_counter() - started
    assert len(result.pages) == pages and all(p.method == "text_layer" for p in result.pages)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=12, help="scanned pages per run (default 12)")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure; the median is kept (default 3)")
    parser.add_argument("--languages", default="fra+eng")
    parser.add_argument("--text-pages", type=int, default=200, help="pages of the text-layer PDF (default 200)")
    parser.add_argument("--plumber-pages", type=int, default=40, help="pages for the pdfplumber comparison")
    args = parser.parse_args()
    if shutil.which("tesseract") is None:
        raise SystemExit("tesseract is not installed")

    version = subprocess.run(["tesseract", "--version"], capture_output=True, text=True, check=False).stdout.split("\n")[0]
    print(f"{platform.platform()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}, {version}, "
          f"OMP_THREAD_LIMIT=1, languages {args.languages}")
    font = ImageFont.truetype(find_font(), 46)
    with tempfile.TemporaryDirectory(prefix="ocr-bench-") as tmp:
        paths = []
        for i in range(args.pages):
            path = Path(tmp) / f"page-{i:03d}.png"
            make_page(i, font).save(path, dpi=(300, 300))
            paths.append(path)
        print(f"{args.pages} scan-like A4 pages at 300 dpi, {args.runs} runs each (median)\n")

        ctx = multiprocessing.get_context("spawn")
        timings: dict[str, list[float]] = {k: [] for k in ("bare1", "pipe1", "bare2", "pipe2")}
        cpu: dict[str, list[float]] = {k: [] for k in timings}
        confidences: list[float] = []
        with ctx.Pool(1) as pool1, ctx.Pool(2) as pool2:
            # Warm both pools (imports, tesseract model files in the page cache).
            run_pipeline(pool1, paths[:1], args.languages)
            run_pipeline(pool2, paths[:2], args.languages)
            run_bare(paths[:1], 1, args.languages)
            for run in range(args.runs):
                for key, measure in (
                    ("bare1", lambda: run_bare(paths, 1, args.languages)),
                    ("pipe1", lambda: run_pipeline(pool1, paths, args.languages)),
                    ("bare2", lambda: run_bare(paths, 2, args.languages)),
                    ("pipe2", lambda: run_pipeline(pool2, paths, args.languages)),
                ):
                    wall, seconds, *rest = measure()
                    timings[key].append(wall)
                    cpu[key].append(seconds)
                    if rest:
                        confidences = rest[0]
                print(f"run {run + 1} (wall, load {os.getloadavg()[0]:.1f}): "
                      + ", ".join(f"{k} {v[-1]:.1f} s" for k, v in timings.items()))

    median = {k: statistics.median(v) for k, v in timings.items()}
    ppm = {k: args.pages * 60 / v for k, v in median.items()}
    overhead = median["pipe1"] / median["bare1"] - 1
    speedup = median["pipe1"] / median["pipe2"]
    bare_speedup = median["bare1"] / median["bare2"]
    confidence = statistics.mean(confidences)
    # CPU seconds per page do not depend on what else the machine runs.
    cpu_page = {k: statistics.median(v) / args.pages for k, v in cpu.items()}
    cpu_overhead = cpu_page["pipe1"] / cpu_page["bare1"] - 1

    data = text_pdf(args.text_pages)
    pdfium_times = [run_text_layer(data, args.text_pages, "pdfium") for _ in range(args.runs)]
    small = text_pdf(args.plumber_pages)
    plumber_times = [run_text_layer(small, args.plumber_pages, "pdfplumber") for _ in range(args.runs)]
    pdfium_pps = args.text_pages / statistics.median(pdfium_times)
    plumber_pps = args.plumber_pages / statistics.median(plumber_times)

    print()
    print(f"{'':34}{'1 process':>12}{'2 processes':>14}")
    print(f"{'bare tesseract, pages/min':34}{ppm['bare1']:>12.1f}{ppm['bare2']:>14.1f}")
    print(f"{'pipeline (extract_text), pages/min':34}{ppm['pipe1']:>12.1f}{ppm['pipe2']:>14.1f}")
    print(f"pipeline overhead vs bare tesseract (1 process): {overhead:+.1%}")
    print(f"pipeline 2 workers / 1 worker: {speedup:.2f}x (bare tesseract: {bare_speedup:.2f}x)")
    print(f"CPU seconds per page: bare {cpu_page['bare1']:.2f}, pipeline {cpu_page['pipe1']:.2f} "
          f"(overhead {cpu_overhead:+.1%}, independent of machine load)")
    print(f"mean page confidence {confidence:.1f}")
    print(f"text-layer PDF, pdfium reader: {pdfium_pps:.0f} pages/s ({args.text_pages} pages)")
    print(f"text-layer PDF, pdfplumber reader: {plumber_pps:.1f} pages/s ({args.plumber_pages} pages)")

    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    out = results / f"ocr_throughput-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps({
        "pages": args.pages, "runs": args.runs, "languages": args.languages, "cpus": os.cpu_count(),
        "tesseract": version, "timings_s": timings, "cpu_s": cpu, "pages_per_minute": ppm,
        "overhead": overhead, "cpu_overhead": cpu_overhead, "speedup_2_workers": speedup, "bare_speedup_2_processes": bare_speedup,
        "text_layer_pages_per_s": {"pdfium": pdfium_pps, "pdfplumber": plumber_pps},
    }, indent=2))
    print(f"\nwritten to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
