import hashlib
import json
import struct
import tracemalloc
import zlib

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile
from django.core.handlers.wsgi import WSGIRequest
from django.db import models
from django.db.models.fields.files import FieldFile
from django.http import JsonResponse
from django.test import RequestFactory
from django.urls import path
from django.utils import translation

from zheliban.core.uploads import (
    CheckedFileField,
    CheckedUpload,
    check_upload,
    format_megabytes,
    private_file_response,
    private_storage,
    sanitize_filename,
)

MB = 1024 * 1024

PDF = (
    b"%PDF-1.4\n"
    b"1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 10 10]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


# A 1x1 8-bit greyscale PNG, built chunk by chunk with real CRCs.
PNG = (
    b"\x89PNG\r\n\x1a\n"
    + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
    + _png_chunk(b"IDAT", zlib.compress(b"\x00\xff"))
    + _png_chunk(b"IEND", b"")
)


def _jpeg_segment(marker: int, payload: bytes) -> bytes:
    return b"\xff" + bytes([marker]) + struct.pack(">H", len(payload) + 2) + payload


# A 1x1 greyscale baseline JPEG: one quantisation table, one-code Huffman tables, one block.
JPEG = (
    b"\xff\xd8"
    + _jpeg_segment(0xDB, b"\x00" + b"\x01" * 64)
    + _jpeg_segment(0xC0, b"\x08\x00\x01\x00\x01\x01\x01\x11\x00")
    + _jpeg_segment(0xC4, b"\x00\x01" + b"\x00" * 15 + b"\x00")
    + _jpeg_segment(0xC4, b"\x10\x01" + b"\x00" * 15 + b"\x00")
    + _jpeg_segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
    + b"\x3f\xff\xd9"
)

# DOS stub with e_lfanew at 0x3C pointing at the PE signature, as a Windows program has.
WINDOWS_PE = b"MZ" + b"\x90\x00" * 29 + struct.pack("<I", 0x40) + b"PE\x00\x00" + b"\x4c\x01" * 40
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 57
MACH_O = b"\xcf\xfa\xed\xfe" + b"\x07\x00\x00\x01" + b"\x00" * 56


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def refusal_code(f, **kwargs) -> str:
    with pytest.raises(ValidationError) as excinfo:
        check_upload(f, **kwargs)
    return excinfo.value.code


@pytest.mark.parametrize(
    ("name", "content", "mime", "extension"),
    [
        ("材料.pdf", PDF, "application/pdf", "pdf"),
        ("photo.PNG", PNG, "image/png", "png"),
        ("scan.jpg", JPEG, "image/jpeg", "jpg"),
        ("scan.jpeg", JPEG, "image/jpeg", "jpg"),
    ],
)
def test_real_files_of_allowed_types_are_accepted(name, content, mime, extension):
    f = upload(name, content)
    checked = check_upload(f)
    assert checked == CheckedUpload(
        mime=mime,
        extension=extension,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        original_name=name,
    )
    assert f.tell() == 0  # ready to be saved


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("x.pdf", WINDOWS_PE),
        ("x.pdf", ELF),
        ("x.png", MACH_O),
        ("x.pdf", b"#!/bin/sh\nrm -rf /\n"),
        ("x.pdf", b"\xef\xbb\xbf#!/usr/bin/env python\n"),
        ("x.exe", WINDOWS_PE),
    ],
)
def test_programs_are_refused_whatever_their_name(name, content):
    assert refusal_code(upload(name, content)) == "executable"


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("x.pdf", PNG),
        ("x.png", JPEG),
        ("x.jpg", PDF),
    ],
)
def test_name_disagreeing_with_content_is_a_mismatch(name, content):
    assert refusal_code(upload(name, content)) == "mismatch"


def test_mismatch_message_names_both_types():
    with translation.override("en"), pytest.raises(ValidationError) as excinfo:
        check_upload(upload("x.pdf", PNG))
    with translation.override("en"):
        messages = excinfo.value.messages
    assert messages == [
        "The file name ends in .pdf but the file is a PNG file. Please upload the original file."
    ]


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("notes.pdf", b"Just some text pretending to be a PDF.\n"),
        ("notes.txt", b"plain text"),
        ("page.pdf", b"<html><script>alert(1)</script></html>"),
        ("bom.pdf", b"\xef\xbb\xbf%PDF-1.4\n"),  # a PDF header must come first
        ("archive.pdf", b"PK\x03\x04" + b"\x00" * 40),
        ("noextension", PDF),
        ("photo.png.txt", PNG),
    ],
)
def test_content_or_name_outside_the_allowed_types_is_refused(name, content):
    assert refusal_code(upload(name, content)) == "type_not_allowed"


def test_allowed_narrows_the_accepted_types():
    assert refusal_code(upload("photo.png", PNG), allowed=("pdf",)) == "type_not_allowed"
    assert check_upload(upload("photo.png", PNG), allowed=("png",)).mime == "image/png"
    with translation.override("en"), pytest.raises(ValidationError) as excinfo:
        check_upload(upload("photo.png", PNG), allowed=("pdf", "jpeg"))
    with translation.override("en"):
        messages = excinfo.value.messages
    assert messages == ["This type of file is not accepted. Accepted types: PDF, JPEG."]


def test_empty_file_is_refused():
    assert refusal_code(upload("x.pdf", b"")) == "empty"


def test_limit_is_inclusive(settings):
    settings.UPLOAD_MAX_BYTES = len(PDF)
    assert check_upload(upload("x.pdf", PDF)).size == len(PDF)
    assert refusal_code(upload("x.pdf", PDF + b"\n")) == "too_large"


def test_explicit_limit_overrides_the_setting(settings):
    settings.UPLOAD_MAX_BYTES = 10
    assert check_upload(upload("x.pdf", PDF), max_bytes=len(PDF)).size == len(PDF)
    assert refusal_code(upload("x.pdf", PDF), max_bytes=len(PDF) - 1) == "too_large"


def test_default_limit_is_twenty_megabytes(settings):
    del settings.UPLOAD_MAX_BYTES
    with translation.override("en"), pytest.raises(ValidationError) as excinfo:
        check_upload(SizedUpload("x.pdf", 20 * MB + 1))
    assert excinfo.value.code == "too_large"
    with translation.override("en"):
        messages = excinfo.value.messages
    assert messages == ["The file is too large: the limit is 20 MB."]


class SizedUpload(SimpleUploadedFile):
    """Claims a size without holding the bytes; any read fails the test."""

    def __init__(self, name: str, size: int) -> None:
        super().__init__(name, b"%PDF-1.4\n")
        self.size = size

    def read(self, *args, **kwargs):
        raise AssertionError("content was read")


class ReadCounter:
    def __init__(self, wrapped) -> None:
        self.wrapped = wrapped
        self.reads = 0

    def read(self, *args):
        self.reads += 1
        return self.wrapped.read(*args)

    def __getattr__(self, name):
        return getattr(self.wrapped, name)


def test_200_mb_temporary_upload_is_refused_without_reading_it():
    size = 200 * MB
    big = TemporaryUploadedFile("big.pdf", "application/pdf", size, None)
    try:
        big.write(b"%PDF-1.4\n")
        big.seek(size - 1)  # sparse: the file system holds almost nothing
        big.write(b"\0")
        big.file = ReadCounter(big.file)
        assert big.size == size
        assert refusal_code(big) == "too_large"
        assert big.file.reads == 0
    finally:
        big.close()


class EvidenceForm(forms.Form):
    evidence = CheckedFileField()


def upload_view(request):
    form = EvidenceForm(request.POST, request.FILES)
    if not form.is_valid():
        return JsonResponse(form.errors.get_json_data(), status=400)
    return JsonResponse({"sha256": form.cleaned_data["evidence"].checked.sha256})


class LazyMultipart:
    """A multipart body produced as it is read, so the test itself holds no 200 MB."""

    def __init__(self, boundary: bytes, filename: str, size: int) -> None:
        self.head = (
            b"--" + boundary + b"\r\n"
            b'Content-Disposition: form-data; name="evidence"; filename="'
            + filename.encode()
            + b'"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4\n'
        )
        self.filler = size - len(b"%PDF-1.4\n")
        self.tail = b"\r\n--" + boundary + b"--\r\n"
        self.length = len(self.head) + self.filler + len(self.tail)

    def read(self, size: int = -1) -> bytes:
        out = b""
        if self.head:
            out, self.head = self.head[:size], self.head[size:]
            size -= len(out)
        if size > 0 and self.filler:
            n = min(size, self.filler)
            out += b"\0" * n
            self.filler -= n
            size -= n
        if size > 0 and self.tail:
            part, self.tail = self.tail[:size], self.tail[size:]
            out += part
        return out

    def readline(self, size: int = -1) -> bytes:
        raise AssertionError("multipart bodies are read in chunks, not lines")


def test_200_mb_upload_through_a_view_is_refused_in_little_memory(settings):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # Django's default: bigger goes to disk
    boundary = b"zhbBoundary7MA4YWxk"
    body = LazyMultipart(boundary, "big.pdf", 200 * MB)
    environ = RequestFactory().post("/upload/").environ.copy()
    environ.update(
        {
            "CONTENT_TYPE": "multipart/form-data; boundary=" + boundary.decode(),
            "CONTENT_LENGTH": str(body.length),
            "wsgi.input": body,
        }
    )
    request = WSGIRequest(environ)
    tracemalloc.start()
    try:
        response = upload_view(request)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        request.close()  # removes the spooled temporary file, as the handler would
    assert response.status_code == 400
    assert [e["code"] for e in json.loads(response.content)["evidence"]] == ["too_large"]
    assert peak < 16 * MB


def test_form_field_exposes_the_checked_upload():
    form = EvidenceForm(files={"evidence": upload("证明.pdf", PDF)})
    assert form.is_valid(), form.errors
    checked = form.cleaned_data["evidence"].checked
    assert checked.original_name == "证明.pdf"
    assert checked.sha256 == hashlib.sha256(PDF).hexdigest()


def test_form_field_errors_carry_codes_and_english_text():
    class LimitedForm(forms.Form):
        evidence = CheckedFileField(max_bytes=1 * MB)

    with translation.override("en"):
        too_large = LimitedForm(files={"evidence": upload("x.pdf", PDF + b"\0" * MB)})
        assert too_large.errors.get_json_data() == {
            "evidence": [
                {"message": "The file is too large: the limit is 1 MB.", "code": "too_large"}
            ]
        }
        program = LimitedForm(files={"evidence": upload("x.pdf", WINDOWS_PE)})
        assert program.errors.get_json_data() == {
            "evidence": [
                {"message": "Programs and scripts cannot be uploaded.", "code": "executable"}
            ]
        }
        text = LimitedForm(files={"evidence": upload("x.pdf", b"hello")})
        assert text.errors.get_json_data() == {
            "evidence": [
                {
                    "message": "This type of file is not accepted. Accepted types: PDF, JPEG, PNG.",
                    "code": "type_not_allowed",
                }
            ]
        }


def test_form_field_is_optional_when_asked_and_keeps_the_initial_file():
    class OptionalForm(forms.Form):
        evidence = CheckedFileField(required=False)

    form = OptionalForm(data={}, files={})
    assert form.is_valid()
    assert form.cleaned_data["evidence"] is None


def test_form_field_tells_the_browser_what_to_offer():
    html = str(EvidenceForm()["evidence"])
    assert 'accept="application/pdf,image/jpeg,image/png,.pdf,.jpg,.png,.jpeg,.jpe"' in html


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("证明材料（盖章）.pdf", "证明材料（盖章）.pdf"),
        ("C:\\Users\\me\\Desktop\\scan.jpg", "scan.jpg"),
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ('a<b>"c"|?*.pdf', "abc.pdf"),
        ("line\nbreak\x00.pdf", "linebreak.pdf"),
        ("....pdf", "pdf"),
        ("...", "upload.pdf"),
        ("", "upload.pdf"),
        ("a" * 300 + ".pdf", "a" * 96 + ".pdf"),
    ],
)
def test_original_names_are_made_safe(name, safe):
    assert sanitize_filename(name, fallback_extension="pdf") == safe


def test_megabytes_are_shown_plainly():
    assert format_megabytes(20 * MB) == "20"
    assert format_megabytes(3 * MB // 2) == "1.5"
    assert format_megabytes(512 * 1024) == "0.5"


@pytest.fixture
def private_root(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    return tmp_path / "private"


def test_private_storage_follows_settings_and_has_no_url(settings, tmp_path, private_root):
    name = private_storage.save("cases/proof.pdf", ContentFile(PDF))
    assert (private_root / name).read_bytes() == PDF
    with pytest.raises(ValueError, match="not accessible via a URL"):
        private_storage.url(name)

    del settings.PRIVATE_MEDIA_ROOT
    settings.MEDIA_ROOT = tmp_path / "media"
    assert private_storage.path("a.pdf") == str(tmp_path / "media" / "private" / "a.pdf")


def stored(name: str, content: bytes) -> FieldFile:
    field = models.FileField(storage=private_storage)
    return FieldFile(None, field, private_storage.save(name, ContentFile(content)))


def download_view(request, name):
    return private_file_response(stored(name, PDF), download_name="申请材料.pdf")


urlpatterns = [path("download/<str:name>", download_view)]


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("proof.pdf", PDF, "application/pdf"),
        ("photo.jpg", JPEG, "image/jpeg"),
        ("photo.png", PNG, "image/png"),
        ("notes.bin", b"\x00\x01", "application/octet-stream"),
    ],
)
def test_private_file_response_is_a_sandboxed_uncached_download(
    private_root, name, content, content_type
):
    response = private_file_response(stored(name, content), download_name="证明 1.pdf")
    try:
        assert b"".join(response.streaming_content) == content
    finally:
        response.file_to_stream.close()
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"] == (
        "attachment; filename*=utf-8''%E8%AF%81%E6%98%8E%201.pdf"
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "sandbox"
    assert response["Cache-Control"] == "private, no-store"


def test_private_file_headers_survive_the_middleware(client, settings, private_root):
    settings.ROOT_URLCONF = __name__
    response = client.get("/download/proof.pdf")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Security-Policy"] == "sandbox"
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("attachment;")
