from drf_spectacular import openapi
from rest_framework import permissions

from .api import ErrorSerializer


class AutoSchema(openapi.AutoSchema):
    """Document the shared error shape on every operation, for the codes it can answer."""

    def _needs_authentication(self) -> bool:
        classes = list(getattr(self.view, "permission_classes", []))
        if not classes or all(cls is permissions.AllowAny for cls in classes):
            return False
        if all(cls is permissions.IsAuthenticatedOrReadOnly for cls in classes):
            return self.method not in permissions.SAFE_METHODS
        return True

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        codes = ["400"]
        if self.method == "GET":
            codes.append("404")
        if self._needs_authentication():
            codes += ["401", "403"]
        if getattr(self.view, "throttle_classes", None):
            codes.append("429")
        for code in codes:
            responses.setdefault(
                code, self._get_response_for_code(ErrorSerializer, code, direction=direction)
            )
        return responses
