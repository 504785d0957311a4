"""Complaints fixtures: one dispatch model trained on the real labelled messages, per package.

``trained_model`` runs ``train_dispatch`` once on ``../shared/data/complaints/
labelled_messages.jsonl`` (or under ``$ZHELIBAN_DATA_DIR``) into a temporary directory and
keeps what it printed; without the file it skips (fails in CI, see ``tests.conftest.require``).
"""

import io
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import translation

from tests.conftest import require

REPO_ROOT = Path(__file__).resolve().parents[2]


def labelled_path() -> Path:
    data_dir = os.environ.get("ZHELIBAN_DATA_DIR")
    base = Path(data_dir) if data_dir else REPO_ROOT.parent / "shared" / "data"
    return base / "complaints" / "labelled_messages.jsonl"


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in English, the msgids, whatever the catalog translates."""
    with translation.override("en"):
        yield


@dataclass
class TrainedModel:
    data: Path
    directory: Path
    path: Path
    output: str


@pytest.fixture(scope="package")
def labelled() -> Path:
    path = labelled_path()
    require(path.is_file(), f"needs the labelled messages at {path} (or set ZHELIBAN_DATA_DIR)")
    return path


@pytest.fixture(scope="package")
def trained_model(labelled, tmp_path_factory) -> TrainedModel:
    directory = tmp_path_factory.mktemp("models")
    out = io.StringIO()
    call_command("train_dispatch", data=labelled, out=directory, no_returns=True, stdout=out)
    (path,) = directory.glob("dispatch-*.joblib")
    return TrainedModel(data=labelled, directory=directory, path=path, output=out.getvalue())


@pytest.fixture(scope="package")
def predictor(trained_model):
    from complaints.dispatch.predictor import Predictor

    return Predictor.load(trained_model.path, rules=[])


from tests.complaints.desk import desk  # noqa: E402, F401  (the complaints-desk scenario)
