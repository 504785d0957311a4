"""The notices a case's law asks for, as PDF: 受理通知书, 补正告知书, 不予受理决定书, 送达回证.

Each is made from the case as it is now (nothing is stored), by one function for the counter's
page, the citizen's page and the API: ``document_pdf``. Which ones a case has follows its state
(``documents_of``). They are official documents and always in Chinese, whatever the page's
language: A4, the text in the embedded Noto Sans SC font (a subset), with the case's tracking URL
in text and as a QR code. ID numbers appear only masked.
"""

from __future__ import annotations

import datetime as dt
import importlib.resources
import io
import logging
from dataclasses import dataclass
from functools import cache

import segno
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from fpdf import FPDF
from fpdf.enums import WrapMode, XPos, YPos

from zheliban.core.identity import mask_text

from . import selectors
from .forms import FormSpec
from .models import Application, Task

ACCEPTANCE, CORRECTION, REJECTION, SERVICE = "acceptance", "correction", "rejection", "service"
TITLES = {
    ACCEPTANCE: "受理通知书",
    CORRECTION: "补正告知书",
    REJECTION: "不予受理决定书",
    SERVICE: "送达回证",
}
# The names pages list them by, in the page's language.
LABELS = {
    ACCEPTANCE: _("Notice of acceptance (受理通知书)"),
    CORRECTION: _("Notice to correct (补正告知书)"),
    REJECTION: _("Decision not to accept (不予受理决定书)"),
    SERVICE: _("Proof of service (送达回证)"),
}
KINDS = tuple(TITLES)
FONT = "noto"
FONT_FILE = "NotoSansSC-Regular.otf"
PORTAL = "浙里办"
# fontTools logs every glyph of each font subset at INFO: nothing an operator needs.
logging.getLogger("fontTools").setLevel(logging.WARNING)


@dataclass(frozen=True)
class DocumentLink:
    kind: str
    label: str


def documents_of(app: Application) -> list[DocumentLink]:
    """The notices the case has now, in the order they arise (reads the prefetched tasks)."""
    return [DocumentLink(kind, str(LABELS[kind])) for kind in KINDS if document_applies(app, kind)]


def document_applies(app: Application, kind: str) -> bool:
    if app.status in (Application.Status.DRAFT, Application.Status.WITHDRAWN):
        return False
    states = {t.state for t in app.tasks.all()}
    if kind == ACCEPTANCE:
        return app.submitted_at is not None
    if kind == CORRECTION:
        return Task.State.CORRECTION in states
    if kind == REJECTION:
        return Task.State.REJECTED in states
    if kind == SERVICE:
        return app.status in (Application.Status.COMPLETED, Application.Status.PARTIAL)
    return False


def chinese_date(value: dt.date | dt.datetime | None) -> str:
    """``2026年12月14日``, as official documents write dates."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = timezone.localdate(value)
    return f"{value.year}年{value.month}月{value.day}日"


@cache
def _font_path() -> str:
    return str(importlib.resources.files("pylopdf_fonts_zh_cn") / FONT_FILE)


def _qr_png(url: str) -> io.BytesIO:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=4, border=2)
    buffer.seek(0)
    return buffer


class _Sheet:
    """One A4 notice being written: a title, rows of label and text, paragraphs."""

    def __init__(self, title: str) -> None:
        pdf = FPDF(format="A4", unit="mm")
        pdf.set_margins(20, 20, 20)
        pdf.set_auto_page_break(True, margin=20)
        pdf.add_font(FONT, fname=_font_path())
        pdf.set_title(title)
        pdf.set_author(PORTAL)
        pdf.set_creator(PORTAL)
        pdf.set_lang("zh-CN")
        pdf.add_page()
        self.pdf = pdf

    def title(self, text: str, number: str) -> None:
        self.pdf.set_font(FONT, size=20)
        self.pdf.cell(0, 14, text, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.pdf.set_font(FONT, size=10)
        self.pdf.cell(0, 7, number, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.pdf.ln(4)

    def row(self, label: str, text: str) -> None:
        self.pdf.set_font(FONT, size=11)
        self.pdf.cell(34, 7, f"{label}：", new_x=XPos.RIGHT, new_y=YPos.TOP)
        self.pdf.multi_cell(
            0, 7, text or "—", wrapmode=WrapMode.CHAR, new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )

    def heading(self, text: str) -> None:
        self.pdf.ln(2)
        self.pdf.set_font(FONT, size=12)
        self.pdf.cell(0, 8, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def paragraph(self, text: str, *, size: int = 11) -> None:
        self.pdf.set_font(FONT, size=size)
        self.pdf.multi_cell(0, 7, text, wrapmode=WrapMode.CHAR, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def tracking(self, url: str) -> None:
        """The QR code of the case's page, with its address in text beside it."""
        self.pdf.ln(4)
        if self.pdf.will_page_break(36):
            self.pdf.add_page()
        top = self.pdf.get_y()
        self.pdf.image(_qr_png(url), x=self.pdf.l_margin, y=top, w=32, h=32)
        self.pdf.set_xy(self.pdf.l_margin + 36, top + 4)
        self.pdf.set_font(FONT, size=10)
        self.pdf.multi_cell(
            0,
            6,
            f"扫码或访问以下地址查询办理进度、下载本文书：\n{url}",
            wrapmode=WrapMode.CHAR,
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        self.pdf.set_y(top + 36)

    def signature(self, issuer: str, date: str) -> None:
        self.pdf.ln(4)
        self.pdf.set_font(FONT, size=11)
        self.pdf.cell(0, 7, issuer, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.pdf.cell(0, 7, date, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def output(self) -> bytes:
        return bytes(self.pdf.output())


def _departments(app: Application) -> list[str]:
    return list(dict.fromkeys(t.department.name for t in app.tasks.all()))


def _items(app: Application, spec: FormSpec) -> list[str]:
    if spec.items:
        return [s.name for s in spec.items]
    return list(dict.fromkeys(t.item.name for t in app.tasks.all()))


def _labels(spec: FormSpec, names: list[str]) -> list[str]:
    """The fields and materials a correction asks for, by their labels on the form."""
    out = []
    for name in names:
        field = spec.field(name)
        material = next((m for m in spec.materials if name in (m.key, m.name)), None)
        if field is not None:
            out.append(field.label)
        elif material is not None:
            out.append(f"{material.name}（材料）")
        else:
            out.append(name)
    return out


def _issuer(app: Application, centre) -> str:
    if centre is not None:
        return centre.name
    departments = _departments(app)
    return "、".join(departments) if departments else PORTAL


def _header(sheet: _Sheet, app: Application, kind: str, spec: FormSpec) -> None:
    sheet.title(TITLES[kind], f"编号：{app.reference}-{KINDS.index(kind) + 1}")
    applicant = app.applicant
    sheet.row(
        "申请人",
        f"{applicant.real_name or applicant.username}（证件号码：{applicant.identity_masked}）",
    )
    sheet.row("办件编号", app.reference or "")
    sheet.row("申请事项", app.subject_name)
    items = _items(app, spec)
    if app.bundle_id or len(items) > 1:
        sheet.row("包含事项", "；".join(items))
    sheet.row("承办部门", "、".join(_departments(app)))
    sheet.row("申请日期", chinese_date(app.submitted_at))


def document_pdf(app: Application, kind: str, *, tracking_url: str, centre=None) -> bytes:
    """The notice ``kind`` of the case as it is now. ``app`` comes from a document selector (tasks
    with departments and items prefetched); ``centre`` is the service centre that filed it, if
    any (``counter.issuing_centre``). The caller checked ``document_applies``."""
    with translation.override("zh-hans"):
        return _document_pdf(app, kind, tracking_url=tracking_url, centre=centre)


def _document_pdf(app: Application, kind: str, *, tracking_url: str, centre) -> bytes:
    spec = selectors.application_form_spec(app)
    sheet = _Sheet(f"{TITLES[kind]} {app.reference}")
    _header(sheet, app, kind, spec)
    tasks = list(app.tasks.all())
    issuer = _issuer(app, centre)
    today = chinese_date(timezone.localdate())
    if kind == ACCEPTANCE:
        sheet.row("承诺办结日期", chinese_date(app.promised_date))
        if app.promised_provisional:
            sheet.paragraph("（承诺日期为暂定：次年法定节假日尚未公布，暂只扣除周末。）", size=9)
        if app.filed_by_id:
            sheet.row("受理方式", f"窗口受理（{issuer}）")
            if app.received:
                sheet.row("窗口收取材料", "、".join(app.received))
        else:
            sheet.row("受理方式", f"网上申请（{PORTAL}）")
        scanned = [a.material_name for a in app.attachments.all() if a.is_file]
        if scanned:
            sheet.row("电子材料", "、".join(scanned))
        sheet.paragraph(
            f"你于{chinese_date(app.submitted_at)}提出的“{app.subject_name}”申请，申请材料齐全、"
            f"符合法定形式，现予受理。本件将由上列部门依次或并联办理，承诺于"
            f"{chinese_date(app.promised_date)}前办结，办理结果将通过{PORTAL}告知你。"
        )
        signed = chinese_date(app.submitted_at)
    elif kind == CORRECTION:
        signed = today
        for task in tasks:
            if task.state != Task.State.CORRECTION:
                continue
            sheet.heading(f"{task.department.name}：{task.label}")
            sheet.row("补正原因", task.reason)
            sheet.row("需补正内容", "；".join(_labels(spec, list(task.correction_fields or []))))
        sheet.paragraph(
            "请按上列内容一次性补正。补正可在浙里办“我的办件”中在线提交，也可到窗口提交。"
            "补正期间，办理时限暂停计算；补正后从收到补正之日起继续计算。"
        )
    elif kind == REJECTION:
        signed = today
        for task in tasks:
            if task.state != Task.State.REJECTED:
                continue
            sheet.heading(f"{task.department.name}：{task.label}")
            sheet.row("决定", "不予受理")
            sheet.row("理由", task.reason)
            if task.finished_at:
                sheet.row("决定日期", chinese_date(task.finished_at))
        others = [t for t in tasks if t.state == Task.State.COMPLETED]
        if others:
            sheet.row("已办结事项", "；".join(t.label for t in others))
        sheet.paragraph(
            "如不服本决定，可以自收到本决定书之日起六十日内，依法向作出决定部门的本级人民政府"
            "或者上一级主管部门申请行政复议；也可以自收到本决定书之日起六个月内，依法向人民法院"
            "提起行政诉讼。"
        )
    else:
        signed = chinese_date(app.finished_at) or today
        sheet.row("办结日期", chinese_date(app.finished_at))
        sheet.heading("送达文书及办理结果")
        for task in tasks:
            sheet.row(task.department.name, f"{task.label}：{task.get_state_display()}")
        licences = list(app.elicences.all())
        if licences:
            sheet.row(
                "电子证照", "；".join(f"{lic.name} {mask_text(lic.value)}" for lic in licences)
            )
        by_hand = "、窗口领取" if app.filed_by_id else ""
        sheet.row("送达方式", f"电子送达（{PORTAL}“我的办件”）{by_hand}")
        sheet.paragraph("受送达人签收：________________        签收日期：____年____月____日")
        sheet.paragraph("送达人：________________")
    sheet.tracking(tracking_url)
    sheet.signature(issuer, signed)
    return sheet.output()
