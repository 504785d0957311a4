"""The assistant over the real knowledge: latency next to /healthz, answer quality on held-out
real questions, and the threshold's trade-off.

    python -m tests.bench.assistant [--database-url .../zheliban_bench_assistant] [--keep-db]
                                    [--sample 600] [--items 100] [--json out.json]

1. Builds a PostgreSQL database (``zheliban_bench*``): ``migrate``, ``seed_demo`` (which seeds the
   knowledge base from ``complaints/messages_with_replies.jsonl``), then the 2,262 real items
   through ``import_items … --format gdzwfw``.
2. Holds out one message in five (CRC32 of its id): its article is deactivated, so the knowledge
   base does not know it. The question asked for every message is the first sentence of the
   citizen's own message (``detail``), never indexed: for a known message the right answer is its
   article; for a held-out one the right behaviour is to decline.
3. Quality, by calling the assistant's ``assistant_reply`` at each threshold of ``THRESHOLDS``:
   share of known questions answered, share of those citing the right article, share of held-out
   questions answered anyway (wrongly). Then the four item questions ("办理X要什么材料", "X多久能办
   好", "X在哪里办", "X要钱吗") for ``--items`` imported items: answered and right-item shares.
4. Latency: in process, Django's test ``Client`` (``zheliban.settings``, ``DEBUG=0``, PostgreSQL),
   ``GET /api/v1/assistant/?q=`` for the sample of real questions and the item questions, each
   recorded as in production; p50/p95/p99/max next to ``/healthz`` through the same client before
   and after. The index is built by a first request, timed on its own.

Figures are printed (and written with ``--json``), never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
import zlib
from pathlib import Path
from urllib.parse import urlencode

from tests.bench import run
from tests.bench.run import BenchError, Database

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/zheliban_bench_assistant"
THRESHOLDS = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6)
SEED = 20260101
SENTENCE_RE = re.compile(r"[。！？!?]")
QUESTION_CHARS = 80
ITEM_FORMS = ("办理{}要什么材料", "{}多久能办好", "{}在哪里办", "{}要钱吗")


def data_dir() -> Path:
    return Path(os.environ.get("ZHELIBAN_DATA_DIR") or REPO_ROOT.parent / "shared" / "data")


def held_out(message_id: str) -> bool:
    return zlib.crc32(message_id.encode()) % 5 == 0


def citizen_question(detail: str) -> str:
    first = SENTENCE_RE.split(detail or "", maxsplit=1)[0].strip()
    return first[:QUESTION_CHARS]


def build(db: Database, keep_db: bool) -> dict[str, float]:
    import django

    steps: dict[str, float] = {}
    if keep_db and db.exists():
        django.setup()
        return steps
    if db.exists():
        db.drop()
    db.create()
    django.setup()
    from django.core.management import call_command

    started = time.monotonic()
    call_command("migrate", interactive=False, verbosity=0)
    steps["migrate"] = time.monotonic() - started
    started = time.monotonic()
    with open(os.devnull, "w") as devnull:
        call_command("seed_demo", stdout=devnull)
    steps["seed_demo (knowledge included)"] = time.monotonic() - started
    started = time.monotonic()
    feed = data_dir() / "catalog" / "gdzwfw_items.jsonl"
    with open(os.devnull, "w") as devnull:
        call_command("import_items", str(feed), format="gdzwfw", no_progress=True, stdout=devnull)
    steps["import_items"] = time.monotonic() - started
    return steps


def percentiles(samples: list[float]) -> dict[str, float]:
    from tests.bench.search import percentiles as pct

    return pct(samples)


def quality(messages: list[dict], items: list[tuple[str, str]]) -> dict:
    from django.conf import settings

    from complaints.knowledge import services
    from complaints.knowledge.text import question_key

    known = [m for m in messages if not m["held_out"]]
    unknown = [m for m in messages if m["held_out"]]
    rows = []
    default = float(settings.ASSISTANT_THRESHOLD)
    for threshold in sorted({*THRESHOLDS, default}):
        settings.ASSISTANT_THRESHOLD = threshold

        def reply(q: str):
            return services.assistant_reply(question=q, key=question_key(q), region=None)

        answered = right = 0
        for message in known:
            result = reply(message["question"])
            if result.answered:
                answered += 1
                right += result.sources[0]["code"] == message["code"]
        wrongly = sum(reply(m["question"]).answered for m in unknown)
        item_answered = item_right = 0
        for name, question in items:
            result = reply(question)
            if result.answered:
                item_answered += 1
                item_right += result.sources[0]["type"] == "item" and (
                    result.sources[0]["title"] == name
                )
        rows.append(
            {
                "threshold": threshold,
                "known_answered": answered / max(1, len(known)),
                "right_of_answered": right / max(1, answered),
                "right_overall": right / max(1, len(known)),
                "held_out_answered": wrongly / max(1, len(unknown)),
                "item_answered": item_answered / max(1, len(items)),
                "item_right_of_answered": item_right / max(1, item_answered),
            }
        )
    settings.ASSISTANT_THRESHOLD = default
    return {"known": len(known), "held_out": len(unknown), "items": len(items), "rows": rows}


def latency(questions: list[str]) -> dict:
    from django.test import Client

    from complaints.knowledge import index

    client = Client()

    def timed(path: str) -> float:
        started = time.perf_counter()
        response = client.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise BenchError(f"{path}: HTTP {response.status_code} {response.content[:200]!r}")
        return elapsed

    index.forget()
    first = timed("/api/v1/assistant/?" + urlencode({"q": "社保卡丢了怎么办"}))
    for _ in range(5):
        timed(run.HEALTHZ)
    before = [timed(run.HEALTHZ) for _ in range(50)]
    asked = [timed("/api/v1/assistant/?" + urlencode({"q": q})) for q in questions]
    after = [timed(run.HEALTHZ) for _ in range(50)]
    return {
        "first_request_ms": first,
        "assistant": percentiles(asked),
        "healthz": percentiles(before + after),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.assistant")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--sample", type=int, default=600, help="real questions asked")
    parser.add_argument("--items", type=int, default=100, help="imported items asked about")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    replies = data_dir() / "complaints" / "messages_with_replies.jsonl"
    if not replies.is_file():
        print(f"missing {replies} (set ZHELIBAN_DATA_DIR)", file=sys.stderr)
        return 2
    try:
        db = Database.from_url(args.database_url)
    except BenchError as exc:
        print(f"bench error: {exc}", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="zheliban-assistant-bench-"))
    try:
        from tests.bench.search import configure_django

        configure_django(db, workdir / "var")
        steps = build(db, args.keep_db)
        from django.db.models import Count

        from catalog.models import ServiceItem
        from complaints.knowledge.seed import reply_code
        from complaints.knowledge.services import knowledge_changed
        from complaints.models import Article

        rows = [json.loads(line) for line in replies.read_text(encoding="utf-8").splitlines()]
        codes = set(Article.objects.filter(is_active=True).values_list("code", flat=True))
        messages = [
            {
                "code": reply_code(r["id"]),
                "question": citizen_question(r["detail"]),
                "held_out": held_out(r["id"]),
            }
            for r in rows
            if reply_code(r["id"]) in codes or held_out(r["id"])
        ]
        messages = [m for m in messages if m["question"]]
        Article.objects.filter(code__in=[m["code"] for m in messages if m["held_out"]]).update(
            is_active=True
        )
        Article.objects.filter(code__in=[m["code"] for m in messages if m["held_out"]]).update(
            is_active=False
        )
        knowledge_changed()
        rng = random.Random(SEED)
        sample = rng.sample(messages, min(args.sample, len(messages)))
        unique_names = (
            ServiceItem.objects.filter(source="gdzwfw", is_active=True)
            .values("name")
            .annotate(n=Count("id"))
            .filter(n=1)
            .values_list("name", flat=True)
        )
        names = rng.sample(sorted(unique_names), min(args.items, len(unique_names)))
        items = [(name, form.format(name)) for name in names for form in ITEM_FORMS]
        articles = Article.objects.filter(is_active=True).count()
        item_count = ServiceItem.objects.filter(is_active=True).count()
        print(
            f"knowledge: {articles} active articles ({sum(m['held_out'] for m in messages)} held "
            f"out), {item_count} published items; "
            + ", ".join(f"{k} {v:.1f}s" for k, v in steps.items())
        )

        print(
            f"\nquality: {len(sample)} real questions (first sentence of the citizen's message), "
            f"{len(items)} item questions about {len(names)} imported items",
            flush=True,
        )
        figures = quality(sample, items)
        from django.conf import settings

        print(
            f"{'threshold':>9}  {'known answered':>14}  {'right|answered':>14}  "
            f"{'right overall':>13}  {'held-out answered':>17}  {'items answered':>14}  "
            f"{'right item':>10}"
        )
        for row in figures["rows"]:
            mark = " *" if row["threshold"] == settings.ASSISTANT_THRESHOLD else "  "
            print(
                f"{row['threshold']:>9.2f}{mark}{row['known_answered']:>14.1%}  "
                f"{row['right_of_answered']:>14.1%}  {row['right_overall']:>13.1%}  "
                f"{row['held_out_answered']:>17.1%}  {row['item_answered']:>14.1%}  "
                f"{row['item_right_of_answered']:>10.1%}"
            )
        print(f"(* ASSISTANT_THRESHOLD = {settings.ASSISTANT_THRESHOLD})")

        questions = [m["question"] for m in sample] + [q for _, q in items]
        print(f"\nlatency: {len(questions)} GET /api/v1/assistant/ (recorded), DEBUG=0", flush=True)
        timing = latency(questions)
        print(f"first request (builds the index): {timing['first_request_ms']:.0f} ms")
        for label in ("assistant", "healthz"):
            p = timing[label]
            print(
                f"{label:<10} n={p['n']:<5} p50 {p['p50']:.1f} ms  p95 {p['p95']:.1f} ms  "
                f"p99 {p['p99']:.1f} ms  max {p['max']:.1f} ms"
            )
        print(
            f"assistant p50 / healthz p50: "
            f"{timing['assistant']['p50'] / timing['healthz']['p50']:.1f}x"
        )
        if args.json:
            args.json.write_text(
                json.dumps({"steps": steps, "quality": figures, "latency": timing}, indent=2)
            )
        return 0
    except BenchError as exc:
        print(f"bench error: {exc}", file=sys.stderr)
        return 2
    finally:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        if not args.keep_db:
            with contextlib.suppress(BenchError):
                db.drop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
