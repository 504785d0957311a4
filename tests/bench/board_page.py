"""The public board (晾晒台) on a phone: page weight and screen count at 360 × 640.

    python -m tests.bench.board_page [--var-dir /tmp/boardvar] [--source .] [--reseed]
        [--path /board/ --path /board/?level=county ...] [--json out.json]

1. Prepares the embedded demo in a scratch folder (``ZHELIBAN_VAR_DIR``): ``manage.py demo
   --no-serve`` (migrate, ``seed_demo``, which also computes the board) unless the folder already
   holds a database (``--reseed`` starts over).
2. Serves it with ``manage.py runserver --noreload`` on a free port, from ``--source`` (the
   project folder; give an exported earlier version to measure the page before a change, with
   its own ``--var-dir``).
3. Loads each path in the system Chromium (``/usr/bin/chromium``, or ``CHROMIUM_PATH``) with a
   360 × 640 viewport, as a phone would, and counts every response the page needed (HTML, CSS,
   images, scripts): their bytes as sent uncompressed and gzip-compressed (what a server with
   compression sends), the page's height and ``height / 640``, the number of screens.

Figures are printed (and written with ``--json``), never asserted; the tests assert the limit.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gzip
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
VIEWPORT = {"width": 360, "height": 640}
DEFAULT_PATHS = ("/board/",)
START_TIMEOUT_S = 60


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _environment(var_dir: Path) -> dict[str, str]:
    env = {**os.environ, "ZHELIBAN_VAR_DIR": str(var_dir), "DEBUG": "1"}
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL"):
        env.pop(name, None)  # the embedded demo: SQLite, tasks in-process, local memory cache
    return env


def prepare(source: Path, var_dir: Path, *, reseed: bool) -> None:
    database = var_dir / "zheliban.sqlite3"
    if reseed and database.exists():
        database.unlink()
    if database.exists():
        return
    var_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "manage.py", "demo", "--no-serve"],
        cwd=source,
        env=_environment(var_dir),
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@contextlib.contextmanager
def serve(source: Path, var_dir: Path):
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=source,
        env=_environment(var_dir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2):  # noqa: S310
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the demo server did not start") from None
                time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _keep(responses: list, response) -> None:
    responses.append(response)


def measure(base: str, paths: list[str]) -> list[dict]:
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    results = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            for path in paths:
                context = browser.new_context(viewport=VIEWPORT, base_url=base, locale="zh-CN")
                page = context.new_page()
                responses: list = []
                page.on("response", functools.partial(_keep, responses))
                page.goto(path, wait_until="load")
                height = page.evaluate("document.documentElement.scrollHeight")
                resources = []
                for response in responses:
                    try:
                        body = response.body()
                    except Exception:  # a redirect has no body
                        body = b""
                    resources.append(
                        {
                            "url": response.url.removeprefix(base),
                            "status": response.status,
                            "type": response.request.resource_type,
                            "bytes": len(body),
                            "gzip_bytes": len(gzip.compress(body, 6)) if body else 0,
                        }
                    )
                context.close()
                results.append(
                    {
                        "path": path,
                        "bytes": sum(r["bytes"] for r in resources),
                        "gzip_bytes": sum(r["gzip_bytes"] for r in resources),
                        "height_px": height,
                        "screens": round(height / VIEWPORT["height"], 1),
                        "resources": resources,
                    }
                )
        finally:
            browser.close()
    return results


def print_results(label: str, results: list[dict]) -> None:
    print(f"\n{label}: viewport {VIEWPORT['width']} × {VIEWPORT['height']}")
    print(f"{'path':<40} {'bytes':>10} {'gzip':>9} {'height px':>10} {'screens':>8}")
    for result in results:
        print(
            f"{result['path']:<40} {result['bytes']:>10,} {result['gzip_bytes']:>9,} "
            f"{result['height_px']:>10,} {result['screens']:>8}"
        )
        for resource in result["resources"]:
            print(
                f"    {resource['type']:<12} {resource['status']} {resource['bytes']:>10,} "
                f"{resource['url'][:60]}"
            )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--var-dir", type=Path, default=Path("/tmp/boardvar"))  # noqa: S108
    parser.add_argument("--source", type=Path, default=REPO_ROOT)
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--path", action="append", dest="paths")
    parser.add_argument("--label", default="board")
    parser.add_argument("--json", type=Path)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    source = args.source.resolve()
    prepare(source, args.var_dir, reseed=args.reseed)
    with serve(source, args.var_dir) as base:
        results = measure(base, args.paths or list(DEFAULT_PATHS))
    print_results(f"{args.label} ({source})", results)
    if args.json:
        args.json.write_text(json.dumps({"label": args.label, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
