"""The citizen's overview draws on the joint-handling scenario and the complaints desk."""

from tests.complaints.desk import desk  # noqa: F401
from tests.workflows.conftest import scenario  # noqa: F401
