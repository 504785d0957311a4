"""The notices (PDF) a case has now, for its pages: ``{% case_documents app as documents %}``."""

from __future__ import annotations

from django import template

from workflows.documents import DocumentLink, documents_of
from workflows.models import Application

register = template.Library()


@register.simple_tag
def case_documents(app: Application) -> list[DocumentLink]:
    """Reads the case's prefetched tasks: no query."""
    return documents_of(app)
