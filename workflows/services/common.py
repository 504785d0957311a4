"""What the workflows services share: state shorthands, certificate names, notices about a case."""

from __future__ import annotations

from zheliban.core.models import Notice
from zheliban.core.notices import notify

from ..models import (
    Application,
    Task,
    TaskEvent,
)

S = Task.State
A = Application.Status

# Names of the outputs that are certificates, for the e-licence a citizen keeps.
OUTPUT_NAMES = {
    "birth_certificate_no": "出生医学证明",
    "hukou_no": "居民户口簿（户籍登记）",
    "citizen_id_number": "公民身份号码",
    "social_card_no": "社会保障卡",
    "insurance_no": "城乡居民医保参保凭证",
    "vaccination_no": "预防接种证",
    "marriage_cert_no": "结婚证",
    "business_licence_no": "营业执照",
    "hukou_region": "户籍所在地",
}


# ---------------------------------------------------------------- notices


def _about(app: Application) -> dict[str, str]:
    """What a notice about an application links to."""
    return {"link": app.get_absolute_url(), "link_label": app.reference or ""}


def _notify_citizen(
    app: Application, event: TaskEvent | None, *, subject: str, body: str
) -> Notice:
    return notify(
        app.applicant,
        subject=subject,
        body=body,
        source=f"workflows.taskevent:{event.pk}" if event is not None else "",
        **_about(app),
    )
