"""Uploaded files: checked by size and content before they are kept, stored out of public reach.

A file is judged by its first bytes, never by the name or the content type the browser sent. The
size is refused from ``UploadedFile.size`` before anything is read, and the digest is computed in
chunks, so a huge upload (which Django has already spooled to a temporary file) costs no memory.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import filetype
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import UploadedFile
from django.db.models.fields.files import FieldFile
from django.http import FileResponse
from django.utils.deconstruct import deconstructible
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from zheliban.core.errors import CoreErrorCode

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_ALLOWED = ("pdf", "jpg", "png")
HEAD_BYTES = 8 * 1024


@dataclass(frozen=True)
class FileType:
    extension: str
    mime: str
    label: str  # what people call it: "PDF", "JPEG"


FILE_TYPES: dict[str, FileType] = {
    "pdf": FileType("pdf", "application/pdf", "PDF"),
    "jpg": FileType("jpg", "image/jpeg", "JPEG"),
    "png": FileType("png", "image/png", "PNG"),
}
EXTENSION_ALIASES = {"jpeg": "jpg", "jpe": "jpg"}

# Error codes and their messages, in one place.
MESSAGES = {
    "too_large": _("The file is too large: the limit is %(limit)s MB."),
    "empty": _("The file is empty."),
    "type_not_allowed": _("This type of file is not accepted. Accepted types: %(types)s."),
    "executable": _("Programs and scripts cannot be uploaded."),
    "photo_broken": _("The picture cannot be read: send the photo again."),
    "photo_too_large": _("The picture has too many pixels; send a smaller photo."),
    "mismatch": _(
        "The file name ends in .%(declared)s but the file is a %(actual)s file. "
        "Please upload the original file."
    ),
}

# Programs in any form a server or a desktop would run: Windows PE/DOS (MZ), ELF, Mach-O
# (32/64-bit, either byte order, and universal binaries) and scripts with an interpreter line.
_EXECUTABLE_MAGIC = (
    b"MZ",
    b"\x7fELF",
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
    b"#!",
)
_UTF8_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class CheckedUpload:
    mime: str
    extension: str  # canonical extension of the content: "pdf", "jpg", "png"
    size: int
    sha256: str
    original_name: str  # the name the user gave, made safe to store and show


def check_upload(
    f: UploadedFile,
    *,
    allowed: Iterable[str] = DEFAULT_ALLOWED,
    max_bytes: int | None = None,
) -> CheckedUpload:
    """Accept ``f`` only if its size is within the limit and its content is an allowed type.

    Raises ``ValidationError`` with code ``too_large``, ``empty``, ``type_not_allowed``,
    ``executable`` or ``mismatch`` (the name's extension disagrees with the content).
    """
    allowed_types = [FILE_TYPES[_canonical_extension(ext)] for ext in allowed]
    if max_bytes is None:
        max_bytes = getattr(settings, "UPLOAD_MAX_BYTES", DEFAULT_MAX_BYTES)

    size = f.size
    if size is None:
        raise ValueError("The upload does not report its size.")
    if size > max_bytes:
        raise ValidationError(
            MESSAGES["too_large"],
            code=CoreErrorCode.TOO_LARGE,
            params={"limit": format_megabytes(max_bytes)},
        )
    if size == 0:
        raise ValidationError(MESSAGES["empty"], code=CoreErrorCode.EMPTY)

    f.seek(0)
    head = f.read(HEAD_BYTES)
    f.seek(0)
    if not head:
        raise ValidationError(MESSAGES["empty"], code=CoreErrorCode.EMPTY)
    if _is_executable(head):
        raise ValidationError(MESSAGES["executable"], code=CoreErrorCode.EXECUTABLE)

    content_type = _sniff(head)
    if content_type is None or content_type not in allowed_types:
        raise _not_allowed(allowed_types)

    original_name = sanitize_filename(f.name or "", fallback_extension=content_type.extension)
    declared_suffix = Path(original_name).suffix.lstrip(".")
    declared = _canonical_extension(declared_suffix)
    if declared not in {t.extension for t in allowed_types}:
        raise _not_allowed(allowed_types)
    if declared != content_type.extension:
        raise ValidationError(
            MESSAGES["mismatch"],
            code=CoreErrorCode.MISMATCH,
            params={"declared": declared_suffix, "actual": content_type.label},
        )

    digest = hashlib.sha256()
    for chunk in f.chunks():
        digest.update(chunk)
    f.seek(0)
    return CheckedUpload(
        mime=content_type.mime,
        extension=content_type.extension,
        size=size,
        sha256=digest.hexdigest(),
        original_name=original_name,
    )


PHOTO_MAX_PIXELS = 40_000_000


def photo_without_metadata(f: UploadedFile, checked: CheckedUpload) -> ContentFile:
    """The photo re-encoded from its pixels alone: EXIF (camera, time, GPS position), XMP, IPTC
    and PNG text chunks are gone. The orientation EXIF asked for is applied to the pixels first,
    so the photo still looks the way it was taken. A picture that cannot be decoded, or one over
    ``PHOTO_MAX_PIXELS`` (a decompression bomb), is refused."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    f.seek(0)
    try:
        with Image.open(f) as image:
            width, height = image.size
            if width * height > PHOTO_MAX_PIXELS:
                raise ValidationError(
                    MESSAGES["photo_too_large"], code=CoreErrorCode.PHOTO_TOO_LARGE
                )
            image.load()
            upright = ImageOps.exif_transpose(image)
            out = io.BytesIO()
            if checked.extension == "jpg":
                if upright.mode not in ("RGB", "L", "CMYK"):
                    upright = upright.convert("RGB")
                upright.save(out, format="JPEG", quality=90, optimize=True, comment=b"")
            else:
                upright.save(out, format="PNG", optimize=True)
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError, SyntaxError) as error:
        raise ValidationError(MESSAGES["photo_broken"], code=CoreErrorCode.PHOTO_BROKEN) from error
    finally:
        f.seek(0)
    return ContentFile(out.getvalue(), name=checked.original_name)


def format_megabytes(n_bytes: int) -> str:
    """20971520 → ``"20"``, 1572864 → ``"1.5"``; small test limits keep three figures."""
    megabytes = n_bytes / (1024 * 1024)
    if megabytes >= 1:
        return f"{megabytes:.1f}".rstrip("0").rstrip(".")
    return f"{megabytes:.3g}"


_UNSAFE_IN_NAME = re.compile(r"[^\w.\- ()（）]")
_MAX_NAME_LENGTH = 100


def sanitize_filename(name: str, *, fallback_extension: str) -> str:
    """Keep the last path part in letters (any script), digits and a little punctuation.

    ``..\\..\\证明 <1>.pdf`` → ``证明 1.pdf``. An empty or all-dots result becomes
    ``upload.<fallback_extension>``.
    """
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _UNSAFE_IN_NAME.sub("", name).strip(" .")
    name = re.sub(r"\s+", " ", name)
    if not name.strip("._- "):
        return f"upload.{fallback_extension}"
    stem, ext = os.path.splitext(name)
    if len(name) > _MAX_NAME_LENGTH:
        name = stem[: _MAX_NAME_LENGTH - len(ext)].rstrip(" .") + ext
    return name


def _canonical_extension(extension: str) -> str:
    extension = extension.lower()
    return EXTENSION_ALIASES.get(extension, extension)


def _is_executable(head: bytes) -> bool:
    return head.startswith(_EXECUTABLE_MAGIC) or head[len(_UTF8_BOM) :].startswith(b"#!")


def _sniff(head: bytes) -> FileType | None:
    kind = filetype.guess(head)
    if kind is None:
        return None
    found = FILE_TYPES.get(_canonical_extension(kind.extension))
    # filetype lets a PDF hide behind a byte-order mark; a real PDF starts with its header.
    if found is FILE_TYPES["pdf"] and not head.startswith(b"%PDF-"):
        return None
    return found


def _not_allowed(allowed_types: list[FileType]) -> ValidationError:
    return ValidationError(
        MESSAGES["type_not_allowed"],
        code=CoreErrorCode.TYPE_NOT_ALLOWED,
        params={"types": ", ".join(t.label for t in allowed_types)},
    )


class CheckedFileField(forms.FileField):
    """A file field whose cleaned upload carries its ``CheckedUpload`` as ``.checked``."""

    def __init__(
        self,
        *,
        allowed: Iterable[str] = DEFAULT_ALLOWED,
        max_bytes: int | None = None,
        **kwargs: Any,
    ) -> None:
        self.allowed = tuple(_canonical_extension(ext) for ext in allowed)
        self.max_bytes = max_bytes
        super().__init__(**kwargs)

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        attrs = super().widget_attrs(widget)
        if not widget.is_hidden:
            allowed = self.allowed
            accepted = [FILE_TYPES[ext].mime for ext in allowed]
            accepted += [f".{ext}" for ext in allowed]
            accepted += [f".{alias}" for alias, ext in EXTENSION_ALIASES.items() if ext in allowed]
            attrs.setdefault("accept", ",".join(accepted))
        return attrs

    def clean(self, data: Any, initial: Any = None) -> Any:
        value = super().clean(data, initial)
        if isinstance(value, UploadedFile):
            value.checked = check_upload(  # type: ignore[attr-defined]
                value, allowed=self.allowed, max_bytes=self.max_bytes
            )
        return value


@deconstructible(path="zheliban.core.uploads.PrivateStorage")
class PrivateStorage(FileSystemStorage):
    """Files no web server serves: no URL, kept under ``PRIVATE_MEDIA_ROOT``.

    The location follows the settings at use time (``override_settings`` works), defaulting to
    ``MEDIA_ROOT / "private"``. ``url()`` raises ``ValueError``: hand files out through
    ``private_file_response`` after checking who asks.
    """

    def __init__(self) -> None:
        super().__init__()

    @cached_property
    def base_location(self) -> str:
        location = getattr(settings, "PRIVATE_MEDIA_ROOT", None)
        return str(location or Path(settings.MEDIA_ROOT) / "private")

    @cached_property
    def base_url(self) -> None:  # type: ignore[override]
        return None

    def _clear_cached_properties(self, setting: str, **kwargs: Any) -> None:
        super()._clear_cached_properties(setting, **kwargs)  # type: ignore[arg-type]
        if setting in {"MEDIA_ROOT", "PRIVATE_MEDIA_ROOT"}:
            self.__dict__.pop("base_location", None)
            self.__dict__.pop("location", None)


private_storage = PrivateStorage()


def private_files() -> PrivateStorage:
    """The private storage, as the callable that file fields name (``storage=private_files``):
    migrations then record the callable, not the settings of the day."""
    return private_storage


def private_file_response(fieldfile: FieldFile, *, download_name: str) -> FileResponse:
    """Stream a stored file as a download that no browser will render or cache.

    Whether the requester may see the file is the caller's decision, made before calling this.
    """
    extension = _canonical_extension(Path(fieldfile.name or "").suffix.lstrip("."))
    known = FILE_TYPES.get(extension)
    content_type = known.mime if known else "application/octet-stream"
    response = FileResponse(
        fieldfile.storage.open(fieldfile.name or "", "rb"),
        as_attachment=True,
        filename=download_name,
        content_type=content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
