import io
import json
import smtplib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.mail.backends.base import BaseEmailBackend

from zheliban.core import notify
from zheliban.core.notify import (
    ConsoleSMSBackend,
    DeliveryFailed,
    HttpSMSBackend,
    NotifyBackend,
    deliver,
)

PHONE = "13812345678"
MASKED = "138****5678"
LOCMEM_SMS = {"sms": "zheliban.core.notify.LocmemSMSBackend"}
CONSOLE_SMS = {"sms": "zheliban.core.notify.ConsoleSMSBackend"}


@pytest.fixture(autouse=True)
def empty_sms_outbox():
    notify.outbox.clear()
    yield
    notify.outbox.clear()


def test_email_goes_through_django_mail(mailoutbox):
    message_id = deliver(
        "email", to="zhang@example.cn", subject="办件提醒\n补正材料", body="请在 5 日内补正材料。"
    )
    assert len(mailoutbox) == 1
    sent = mailoutbox[0]
    assert sent.to == ["zhang@example.cn"]
    assert sent.subject == "办件提醒 补正材料"
    assert sent.body == "请在 5 日内补正材料。"
    assert sent.extra_headers["Message-ID"] == message_id
    assert message_id.startswith("<") and message_id.endswith(">")


class RefusingMailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise smtplib.SMTPRecipientsRefused({"zhang@example.cn": (550, b"no such user")})


def test_mail_server_refusal_is_a_delivery_failure(settings):
    settings.EMAIL_BACKEND = f"{__name__}.RefusingMailBackend"
    with pytest.raises(DeliveryFailed, match="mail server refused"):
        deliver("email", to="zhang@example.cn", subject="s", body="b")


def test_console_sms_masks_the_number_on_one_line(settings, capsys):
    settings.NOTIFY_BACKENDS = CONSOLE_SMS
    message_id = deliver("sms", to=PHONE, subject="ignored", body="您的办件已受理。\n请留意进度。")
    out = capsys.readouterr().out
    assert out == f"SMS {message_id} to {MASKED}: 您的办件已受理。 请留意进度。\n"
    assert PHONE not in out


def test_console_sms_writes_to_the_given_stream():
    stream = io.StringIO()
    ConsoleSMSBackend(stream=stream).send(to=PHONE, subject="", body="验证码 123456")
    assert stream.getvalue().endswith(f"to {MASKED}: 验证码 123456\n")


def test_locmem_sms_records_messages(settings):
    settings.NOTIFY_BACKENDS = LOCMEM_SMS
    first = deliver("sms", to=PHONE, subject="", body="一")
    second = deliver("sms", to="13900001111", subject="", body="二")
    assert notify.outbox == [
        notify.SentSMS(to=PHONE, body="一", message_id=first),
        notify.SentSMS(to="13900001111", body="二", message_id=second),
    ]
    assert first != second


class RecordingBackend(NotifyBackend):
    sent: list[dict] = []

    def send(self, *, to, subject, body, idempotency_key=""):
        self.sent.append({"to": to, "subject": subject, "body": body})
        return f"rec-{len(self.sent)}"


def test_settings_swap_backends_per_channel(settings, mailoutbox, capsys):
    RecordingBackend.sent = []
    settings.NOTIFY_BACKENDS = {"email": f"{__name__}.RecordingBackend"}
    assert deliver("email", to="li@example.cn", subject="主题", body="正文") == "rec-1"
    assert RecordingBackend.sent == [{"to": "li@example.cn", "subject": "主题", "body": "正文"}]
    assert mailoutbox == []
    deliver("sms", to=PHONE, subject="", body="短信")  # an unnamed channel keeps its default
    assert MASKED in capsys.readouterr().out


def test_unknown_channel_is_a_programming_error(settings):
    settings.NOTIFY_BACKENDS = LOCMEM_SMS
    with pytest.raises(ValueError, match="Unknown notice channel 'inbox'"):
        deliver("inbox", to=PHONE, subject="", body="b")
    assert notify.outbox == []


@pytest.mark.parametrize("to", ["", "   ", None])
def test_missing_address_fails_before_any_backend(settings, mailoutbox, to):
    settings.NOTIFY_BACKENDS = LOCMEM_SMS
    with pytest.raises(DeliveryFailed, match="No sms address"):
        deliver("sms", to=to, subject="", body="b")
    with pytest.raises(DeliveryFailed, match="No email address"):
        deliver("email", to=to, subject="s", body="b")
    assert notify.outbox == []
    assert mailoutbox == []


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that timed out and hung up is what some tests want


class Gateway:
    """A local SMS gateway: records what it receives and answers as told."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.status = 200
        self.answer = b'{"id": "gw-42"}'
        self.delay = 0.0
        self.location = ""
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers["Content-Length"])
                gateway.requests.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": self.rfile.read(length),
                    }
                )
                time.sleep(gateway.delay)
                self.send_response(gateway.status)
                if gateway.location:
                    self.send_header("Location", gateway.location)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(gateway.answer)))
                self.end_headers()
                self.wfile.write(gateway.answer)

            def do_GET(self):
                gateway.requests.append({"path": self.path, "headers": dict(self.headers)})
                self.send_response(200)
                self.end_headers()

            def log_message(self, format, *args):
                pass

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/send"


@pytest.fixture
def gateway(settings):
    gw = Gateway()
    thread = threading.Thread(target=gw.server.serve_forever, daemon=True)
    thread.start()
    settings.NOTIFY_BACKENDS = {"sms": "zheliban.core.notify.HttpSMSBackend"}
    settings.SMS_GATEWAY_URL = gw.url
    settings.SMS_GATEWAY_TOKEN = "gw-token-123"
    yield gw
    gw.server.shutdown()
    gw.server.server_close()
    thread.join(timeout=5)


def test_http_gateway_success_returns_its_id(gateway):
    assert deliver("sms", to=PHONE, subject="ignored", body="您的办件已办结。") == "gw-42"
    [received] = gateway.requests
    assert received["path"] == "/send"
    assert received["headers"]["Authorization"] == "Bearer gw-token-123"
    assert received["headers"]["Content-Type"] == "application/json"
    assert json.loads(received["body"]) == {"to": PHONE, "body": "您的办件已办结。"}


def test_http_gateway_answer_without_id_still_counts_as_delivered(gateway):
    gateway.status = 202
    gateway.answer = b"accepted"
    assert deliver("sms", to=PHONE, subject="", body="b") == ""


def test_http_gateway_error_is_a_delivery_failure_without_the_number(gateway):
    gateway.status = 500
    gateway.answer = b'{"error": "down"}'
    with pytest.raises(DeliveryFailed, match="answered 500") as excinfo:
        deliver("sms", to=PHONE, subject="", body="b")
    assert MASKED in str(excinfo.value)
    assert PHONE not in str(excinfo.value)
    assert "gw-token-123" not in str(excinfo.value)


def test_http_gateway_redirect_is_not_followed(gateway):
    gateway.status = 302
    gateway.location = gateway.url.replace("/send", "/elsewhere")
    with pytest.raises(DeliveryFailed, match="answered 302"):
        deliver("sms", to=PHONE, subject="", body="b")
    assert [r["path"] for r in gateway.requests] == ["/send"]


def test_http_gateway_timeout_is_a_delivery_failure(gateway, monkeypatch):
    monkeypatch.setattr(notify, "HTTP_TIMEOUT_SECONDS", 0.2)
    gateway.delay = 1.0
    with pytest.raises(DeliveryFailed, match="could not be reached"):
        deliver("sms", to=PHONE, subject="", body="b")


def test_http_gateway_unreachable_is_a_delivery_failure(gateway, settings):
    gateway.server.shutdown()
    gateway.server.server_close()
    with pytest.raises(DeliveryFailed, match="could not be reached"):
        deliver("sms", to=PHONE, subject="", body="b")


def test_http_gateway_needs_an_http_url(settings):
    settings.SMS_GATEWAY_URL = "file:///etc/passwd"
    with pytest.raises(ImproperlyConfigured):
        HttpSMSBackend().send(to=PHONE, subject="", body="b")
