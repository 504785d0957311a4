"""Dispatch model: quality by cross-validation next to a baseline, speed, load time, memory.

    python -m tests.bench.dispatch [--data-dir ../shared/data] [--repeat 2] [--json out.json]

1. Quality, 5-fold stratified cross-validation on ``complaints/labelled_messages.jsonl``, the
   same outer folds for both:

   - *ours*: the whole ``train_dispatch`` procedure run inside each outer fold (pipeline chosen
     by inner cross-validation, threshold for 90 % precision from the inner folds), scored on
     the held-out fold: accuracy, macro-F1, and the precision and share of the tickets it would
     dispatch automatically (confidence >= the fold's threshold);
   - *ours, as train_dispatch reports it*: out-of-fold figures of the chosen pipeline, with
     its threshold chosen on the same predictions (what the model's metadata says);
   - *baseline*: TF-IDF of character 1-3-grams with a linear SVM (no confidence, so no
     threshold).
2. Throughput on one core (the process is pinned to one CPU, BLAS to one thread): the model
   trained on all labelled messages predicts the 4,326 unlabelled messages, ``--repeat`` times,
   in batches of 256 as ``dispatch_predict`` does; tickets/s, and the share spent segmenting.
   The department lookup (one query per batch) is left out: the bench needs no database.
3. Load time and memory, in a fresh process: Django set up (``zheliban.settings``), the model
   loaded (with the scikit-learn imports it brings), the segmenter's dictionary, a prediction;
   VmRSS after each step and the peak (ru_maxrss).

Figures are printed (and written with ``--json``), never asserted.
"""

from __future__ import annotations

import os

# One core: set before numpy is imported anywhere.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
BATCH = 256

PROBE = """
import json, os, resource, sys, time
def rss():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
figures = {"rss_start_mb": rss()}
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zheliban.settings")
started = time.perf_counter()
import django
django.setup()
figures["django_setup_s"] = time.perf_counter() - started
figures["rss_django_mb"] = rss()
started = time.perf_counter()
from complaints.dispatch.predictor import Predictor
predictor = Predictor.load(sys.argv[1], rules=[])
figures["model_load_s"] = time.perf_counter() - started
figures["rss_model_mb"] = rss()
started = time.perf_counter()
from zheliban.core import segment
segment.cut("词典")
figures["segmenter_init_s"] = time.perf_counter() - started
figures["rss_segmenter_mb"] = rss()
from complaints.dispatch import predictor as module
from complaints.dispatch.departments import generic_department
module.dispatch_departments_get = lambda *, kinds, region_code: {
    k: generic_department(k) for k in kinds}
started = time.perf_counter()
predictor.predict(["小区旁边工地夜间施工噪音太大"])
figures["first_predict_s"] = time.perf_counter() - started
figures["rss_final_mb"] = rss()
figures["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(figures))
"""


def pin_one_core() -> int | None:
    try:
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return cpu
    except (AttributeError, OSError):
        return None


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def quality(data) -> dict:
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    from complaints.dispatch.model import FOLDS, SEED, LabelledData, dispatch_train

    texts = np.asarray(data.texts, dtype=object)
    labels = np.asarray(data.categories, dtype=object)
    ours = np.empty(len(texts), dtype=object)
    confidence = np.zeros(len(texts))
    automatic = np.zeros(len(texts), dtype=bool)
    baseline = np.empty(len(texts), dtype=object)
    chosen: list[str] = []
    started = time.perf_counter()
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=SEED)
    for train, test in folds.split(texts, labels):
        part = LabelledData(list(texts[train]), list(labels[train]), data.sha256, data.source)
        result = dispatch_train(data=part)
        chosen.append(result.candidate)
        probabilities = result.pipeline.predict_proba(list(texts[test]))
        ours[test] = result.pipeline.classes_[probabilities.argmax(axis=1)]
        confidence[test] = probabilities.max(axis=1)
        threshold = result.evaluation.threshold
        automatic[test] = threshold is not None and confidence[test] >= threshold
        svm = make_pipeline(TfidfVectorizer(analyzer="char", ngram_range=(1, 3)), LinearSVC())
        svm.fit(list(texts[train]), list(labels[train]))
        baseline[test] = svm.predict(list(texts[test]))
    nested_s = time.perf_counter() - started

    started = time.perf_counter()
    reported = dispatch_train(data=data)
    train_s = time.perf_counter() - started
    correct = ours == labels
    return {
        "ours": {
            "accuracy": float(accuracy_score(labels, ours)),
            "macro_f1": float(f1_score(labels, ours, average="macro")),
            "automatic_share": float(automatic.mean()),
            "automatic_precision": float(correct[automatic].mean()) if automatic.any() else None,
            "pipelines_chosen": chosen,
        },
        "ours_reported": {
            "accuracy": reported.evaluation.accuracy,
            "macro_f1": reported.evaluation.macro_f1,
            "pipeline": reported.candidate,
            "threshold": reported.evaluation.threshold,
            "automatic_share": reported.evaluation.threshold_coverage,
            "automatic_precision": reported.evaluation.threshold_precision,
            "coverage": reported.evaluation.coverage,
        },
        "baseline": {
            "accuracy": float(accuracy_score(labels, baseline)),
            "macro_f1": float(f1_score(labels, baseline, average="macro")),
        },
        "nested_cv_s": nested_s,
        "train_dispatch_s": train_s,
        "reported_result": reported,
    }


def throughput(model_path: Path, texts: list[str], repeat: int) -> dict:
    from complaints.dispatch import predictor as module
    from complaints.dispatch.departments import generic_department

    # No database in the bench: every kind stands for itself (one query per batch otherwise).
    module.dispatch_departments_get = lambda *, kinds, region_code: {
        kind: generic_department(kind) for kind in kinds
    }
    predictor = module.Predictor.load(model_path, rules=[])
    predictor.predict(texts[:BATCH])  # the segmenter's dictionary, first calls
    workload = texts * repeat
    started = time.perf_counter()
    for start in range(0, len(workload), BATCH):
        predictor.predict(workload[start : start + BATCH])
    elapsed = time.perf_counter() - started
    started = time.perf_counter()
    predictor._segment.transform(texts)
    segment_s = (time.perf_counter() - started) * repeat
    return {
        "tickets": len(workload),
        "seconds": elapsed,
        "tickets_per_s": len(workload) / elapsed,
        "segmenting_share": min(1.0, segment_s / elapsed),
        "mean_chars": sum(map(len, texts)) / len(texts),
    }


def load_and_memory(model_path: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(model_path)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if proc.returncode != 0:
        return {"error": proc.stderr[-2000:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("ZHELIBAN_DATA_DIR") or REPO_ROOT.parent / "shared" / "data"),
    )
    parser.add_argument("--repeat", type=int, default=2, help="Passes over the unlabelled set.")
    parser.add_argument("--json", type=Path, help="Also write the figures as JSON.")
    args = parser.parse_args(argv)

    labelled_path = args.data_dir / "complaints" / "labelled_messages.jsonl"
    unlabelled_path = args.data_dir / "complaints" / "unlabelled_messages.jsonl"
    for path in (labelled_path, unlabelled_path):
        if not path.is_file():
            print(f"missing {path} (set --data-dir or ZHELIBAN_DATA_DIR)", file=sys.stderr)
            return 2

    cpu = pin_one_core()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    import sklearn

    from complaints.dispatch.model import labelled_load, model_save
    from complaints.dispatch.text import ticket_text

    data = labelled_load(labelled_path)
    print(f"Dispatch bench: {len(data.texts)} labelled messages, 5-fold stratified CV ...")
    figures = quality(data)
    with tempfile.TemporaryDirectory() as directory:
        model_path = model_save(figures.pop("reported_result"), Path(directory))
        unlabelled = [ticket_text(r["topic"], r["detail"]) for r in read_jsonl(unlabelled_path)]
        print(f"Throughput over {len(unlabelled)} unlabelled messages x {args.repeat} ...")
        figures["throughput"] = throughput(model_path, unlabelled, args.repeat)
        figures["process"] = load_and_memory(model_path)
        figures["model_file_kb"] = model_path.stat().st_size / 1024
    figures["machine"] = {
        "python": platform.python_version(),
        "sklearn": sklearn.__version__,
        "cpus": os.cpu_count(),
        "pinned_cpu": cpu,
        "load_avg": os.getloadavg(),
    }
    print_report(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


def _pct(value) -> str:
    return "-" if value is None else f"{value:.1%}"


def print_report(figures: dict) -> None:
    ours, reported, baseline = figures["ours"], figures["ours_reported"], figures["baseline"]
    machine = figures["machine"]
    print()
    print(
        f"Python {machine['python']}, scikit-learn {machine['sklearn']}, {machine['cpus']} CPUs "
        f"(pinned to {machine['pinned_cpu']}), load {machine['load_avg'][0]:.2f}"
    )
    print()
    print(f"{'5-fold CV':<44}{'accuracy':>10}{'macro-F1':>10}{'auto share':>12}{'auto prec':>11}")
    rows = [
        ("ours, whole procedure per fold (nested)", ours),
        (f"ours as train_dispatch reports ({reported['pipeline']})", reported),
        ("baseline: char 1-3-gram TF-IDF + LinearSVC", baseline),
    ]
    for label, row in rows:
        print(
            f"{label:<44}{row['accuracy']:>10.3f}{row['macro_f1']:>10.3f}"
            f"{_pct(row.get('automatic_share')):>12}{_pct(row.get('automatic_precision')):>11}"
        )
    print(
        f"ours - baseline: accuracy {ours['accuracy'] - baseline['accuracy']:+.3f}, "
        f"macro-F1 {ours['macro_f1'] - baseline['macro_f1']:+.3f} (nested)"
    )
    print(f"pipelines chosen per fold: {', '.join(ours['pipelines_chosen'])}")
    print(f"threshold (train_dispatch): {reported['threshold']}")
    print(
        "precision at coverage (train_dispatch): "
        + ", ".join(
            f"{row['coverage']:.0%}: {row['precision']:.1%}" for row in reported["coverage"]
        )
    )
    print(
        f"time: nested CV {figures['nested_cv_s']:.1f} s, "
        f"train_dispatch procedure {figures['train_dispatch_s']:.1f} s"
    )
    print()
    speed = figures["throughput"]
    print(
        f"throughput, one core, batches of {BATCH}: {speed['tickets_per_s']:,.0f} tickets/s "
        f"({speed['tickets']:,} tickets of {speed['mean_chars']:.0f} characters on average "
        f"in {speed['seconds']:.1f} s; segmenting {speed['segmenting_share']:.0%} of it)"
    )
    process = figures["process"]
    if "error" in process:
        print(f"fresh process failed:\n{process['error']}")
        return
    print(
        f"fresh process: Django setup {process['django_setup_s']:.2f} s, "
        f"model load {process['model_load_s']:.2f} s (scikit-learn imports included), "
        f"segmenter dictionary {process['segmenter_init_s']:.2f} s, "
        f"first prediction {process['first_predict_s'] * 1000:.0f} ms; "
        f"model file {figures['model_file_kb']:.0f} KB"
    )
    print(
        f"resident memory (VmRSS): start {process['rss_start_mb']:.0f} MB, "
        f"Django {process['rss_django_mb']:.0f} MB, + model {process['rss_model_mb']:.0f} MB, "
        f"+ segmenter {process['rss_segmenter_mb']:.0f} MB, after a prediction "
        f"{process['rss_final_mb']:.0f} MB (peak {process['maxrss_mb']:.0f} MB)"
    )


if __name__ == "__main__":
    sys.exit(main())
