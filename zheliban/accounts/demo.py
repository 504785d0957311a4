"""Demo people: an administrator and citizens with valid but fictitious ID numbers."""

import functools

from django.contrib.auth.hashers import make_password

from zheliban.core.identity import id_number_check_char, uscc_check_char

from .models import User
from .services import staff_user_upsert

DEMO_PASSWORD = "Zheliban-demo-2026"  # noqa: S105 - the published demo password

# Region, birth date and sequence are fictitious; the check digit is computed, so they validate.
DEMO_CITIZENS = (
    ("citizen1", "张小明", "33010619900307123", "13800000001"),
    ("citizen2", "李晓红", "33010219880815234", "13800000002"),
    ("citizen3", "王建国", "33010819551120345", "13800000003"),
)
DEMO_ENTERPRISES = (("enterprise1", "杭州示例科技有限公司", "91330106MA2H00001", "13800000011"),)


@functools.cache
def demo_password_hash() -> str:
    """One hash for every demo account: hashing is slow on purpose and the demo has hundreds."""
    return make_password(DEMO_PASSWORD)


def seed(*, stdout) -> None:
    staff_user_upsert(
        username="admin",
        real_name="省政务服务管理员",
        password_hash=demo_password_hash(),
        is_superuser=True,
    )
    for username, name, first17, phone in DEMO_CITIZENS:
        _upsert_person(
            username,
            User.Kind.CITIZEN,
            name,
            phone,
            id_number=first17 + id_number_check_char(first17),
        )
    for username, name, first17, phone in DEMO_ENTERPRISES:
        _upsert_person(
            username,
            User.Kind.ENTERPRISE,
            name,
            phone,
            credit_code=first17 + uscc_check_char(first17),
        )
    stdout.write(
        f"Accounts: the administrator, {len(DEMO_CITIZENS)} citizens, "
        f"{len(DEMO_ENTERPRISES)} {'enterprise' if len(DEMO_ENTERPRISES) == 1 else 'enterprises'}."
    )


def login_help() -> list[str]:
    """How to log in as the demo people (``seed_demo`` prints it once the seeding is done)."""
    lines = [
        f"Accounts (password for all: {DEMO_PASSWORD}):",
        "  admin            - administrator, /admin/",
    ]
    for username, name, _first17, phone in DEMO_CITIZENS + DEMO_ENTERPRISES:
        lines.append(f"  {username:<16} - {name}, or log in with mobile {phone}")
    return lines


def _upsert_person(username, kind, name, phone, *, id_number=None, credit_code=None) -> User:
    user, _created = User.objects.get_or_create(
        username=username,
        defaults={
            "kind": kind,
            "real_name": name,
            "phone": phone,
            "id_number": id_number,
            "credit_code": credit_code,
            "password": demo_password_hash(),
        },
    )
    return user
