"""Giving a shared workflow version the approvals it needs, through the service, as the admins of
the departments it binds would in admin (``/admin/workflows/workflowdefinition/<id>/review/``)."""

from __future__ import annotations

from departments.models import Membership
from tests.factories import MembershipFactory
from workflows import services
from workflows.models import WorkflowApproval, WorkflowDefinition


def department_admin(department):
    """The department's first administrator, or a new one."""
    membership = (
        Membership.objects.filter(department=department, role=Membership.Role.ADMIN)
        .order_by("user__username")
        .first()
    )
    if membership is None:
        membership = MembershipFactory(department=department, role=Membership.Role.ADMIN)
    return membership.user


def approve_all(definition: WorkflowDefinition) -> list[WorkflowApproval]:
    """Every department the version binds approves it, each by its own administrator."""
    return [
        services.definition_decide(
            actor=department_admin(department),
            definition=definition,
            department=department,
            decision=WorkflowApproval.Decision.APPROVED,
        )
        for department in definition.departments.order_by("code")
    ]


def save_agree_activate(text: str, *, actor=None) -> WorkflowDefinition:
    """Save a version, have every department it binds approve it, and activate it."""
    definition = services.definition_save(actor=actor, text=text)
    approve_all(definition)
    return services.definition_activate(actor=actor, definition=definition)
