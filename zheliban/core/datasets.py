"""Where the real data sets are read from: ``$ZHELIBAN_DATA_DIR``, else ``../shared/data``
beside the checkout."""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings


def data_dir() -> Path:
    value = os.environ.get("ZHELIBAN_DATA_DIR")
    return Path(value) if value else Path(settings.BASE_DIR).parent / "shared" / "data"
