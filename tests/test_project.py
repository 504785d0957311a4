"""The project's own promises: layout, settings, translations, the README's commands."""

import os
import re
import secrets
import shutil
import subprocess
import sys
from io import StringIO
from pathlib import Path

import polib
import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[1]


def test_top_level_layout():
    names = {p.name for p in ROOT.iterdir() if not p.name.startswith(".")}
    names -= {"var", "build", "dist"} | {n for n in names if n.endswith(".egg-info")}
    assert names == {
        "manage.py",
        "pyproject.toml",
        "README.md",
        "zheliban",
        "catalog",
        "workflows",
        "departments",
        "registers",
        "complaints",
        "scoreboard",
        "citizen",
        "templates",
        "static",
        "tests",
    }


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    (command,) = [line for line in ci.splitlines() if line.startswith("python3 -m venv .venv")]
    assert command in readme


def test_a_test_runs_in_its_work_unit_under_xdist(request):
    """Under ``-n`` (the README's command) xdist hands out whole units (tests/conftest.py): a
    test's node id ends with its unit, a module or a package with a package-scoped fixture.
    Run on one process, node ids are left as they are."""
    on_worker = hasattr(request.config, "workerinput")
    grouped = on_worker and request.config.getoption("loadgroup", False)
    assert request.node.nodeid.endswith("@tests/test_project.py") is grouped
    assert request.node.nodeid.startswith(
        "tests/test_project.py::test_a_test_runs_in_its_work_unit_under_xdist"
    )


@pytest.mark.django_db
def test_migrations_are_committed():
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def test_chinese_catalog_is_complete_and_compiled():
    po_path = ROOT / "zheliban" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
    po = polib.pofile(str(po_path))
    assert len(po) > 100
    assert po.untranslated_entries() == []
    assert po.fuzzy_entries() == []
    mo = polib.mofile(str(po_path.with_suffix(".mo")))
    assert {e.msgid: translation(e) for e in mo if e.msgid} == {
        e.msgid: translation(e) for e in po if not e.obsolete
    }


def translation(entry) -> str:
    """The Chinese text of an entry (Chinese has one plural form)."""
    return entry.msgstr_plural.get(0, "") if entry.msgid_plural else entry.msgstr


def test_every_translatable_string_is_in_the_catalog(tmp_path):
    """makemessages finds nothing new: the English UI is complete in Chinese too."""
    if not os.path.exists("/usr/bin/xgettext"):
        pytest.skip("needs GNU gettext (xgettext) to extract strings")
    po_path = ROOT / "zheliban" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
    known = {e.msgid for e in polib.pofile(str(po_path)) if translation(e) and not e.obsolete}
    env = {
        **os.environ,
        "DEBUG": "1",
        "DJANGO_SETTINGS_MODULE": "zheliban.settings",
        "ZHELIBAN_VAR_DIR": str(tmp_path),
    }
    scratch = tmp_path / "copy"
    scratch.mkdir()
    for name in (
        "zheliban",
        "departments",
        "registers",
        "catalog",
        "workflows",
        "complaints",
        "scoreboard",
        "citizen",
        "templates",
    ):
        shutil.copytree(ROOT / name, scratch / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "manage.py", scratch / "manage.py")
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "makemessages",
            "-l",
            "zh_Hans",
            "--no-location",
            "--ignore=.venv",
            "--ignore=var",
            "--ignore=tests",
            "--ignore=static",
        ],
        cwd=scratch,
        env=env,
        check=True,
        capture_output=True,
    )
    extracted = polib.pofile(str(scratch / "zheliban/locale/zh_Hans/LC_MESSAGES/django.po"))
    missing = sorted(e.msgid for e in extracted if not e.obsolete and e.msgid not in known)
    assert missing == []


def test_production_settings_pass_the_deploy_check(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DJANGO_SETTINGS_MODULE": "zheliban.settings",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
        "ALLOWED_HOSTS": "zwfw.zj.gov.cn",
        "ZHELIBAN_VAR_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_secret_key_is_required_without_debug(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "zheliban.settings",
            "DEBUG": "0",
            "ZHELIBAN_VAR_DIR": str(tmp_path),
        }
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert re.search(r"Set the SECRET_KEY environment variable", result.stderr)
