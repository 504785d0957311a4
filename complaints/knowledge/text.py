"""Words of questions and articles, and how an official reply becomes an article's answer.

Tokens for the assistant's index are jieba words (no function words) plus the character pairs
of every Han run: words find the matter ("公积金"), pairs survive jieba cutting a name
differently in a question than in an article ("出生医学证明" / "出生证明").

``reply_body`` only ever removes text from a reply (the salutation, the "we have received your
message, here is our answer" lead-in, the closing thanks, the signature and the date): it never
adds a word, so the article says exactly what the government wrote.
"""

from __future__ import annotations

import re
import unicodedata

from zheliban.core import segment

HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef"
WORD_RE = re.compile(f"[a-z0-9]+|[{HAN}]+")
HAN_RUN_RE = re.compile(f"[{HAN}]+")
# What a question says around its matter: dropped from the words (the pairs keep them).
STOPWORDS = frozenset(
    """
    的 了 吗 呢 啊 吧 呀 么 哦 嘛 之 其 及 或 和 与 等 并 在 由 对 为 以 于 把 被 给 到 是 有
    我 我们 你 您 他 她 它 要 想 会 能 可以 可 应 应该 怎么 怎样 如何 怎么样 什么 哪里 哪儿 哪
    请问 请 一下 一个 个 些 这 那 这个 那个 还 也 都 就 该 需 需要 怎么办 问 问题 咨询 反映
    """.split()  # noqa: SIM905
)
# Anything but letters, digits and Han characters, for the normalized form of a question.
NOT_WORD_RE = re.compile(f"[^a-z0-9{HAN}]+")


def normalize(value: str) -> str:
    """NFKC (full-width to half-width) and lower case."""
    return unicodedata.normalize("NFKC", value or "").lower()


def question_key(value: str) -> str:
    """A question as it is recorded and pinned: normalized, punctuation and spaces dropped, so
    "社保卡丢了怎么办？" and "社保卡丢了 怎么办" are the same question."""
    return NOT_WORD_RE.sub("", normalize(value))


def tokens(value: str) -> list[str]:
    """The index's tokens of a text: its words and the character pairs of its Han runs."""
    text = normalize(value)
    out = [
        piece
        for word in segment.cut(text)
        for piece in WORD_RE.findall(word)
        if piece not in STOPWORDS and not (len(piece) == 1 and piece.isascii())
    ]
    for run in HAN_RUN_RE.findall(text):
        out.extend(run[i : i + 2] for i in range(len(run) - 1))
    return out


# --- official replies -----------------------------------------------------------------------

# Who the reply is addressed to: 网友“UU008913”： / “UU008913”您好 / 网友： (anonymised names).
ADDRESSEE_RE = re.compile(r"^\s*(?:网友)?\s*(?:[“\"][^”\"]{1,20}[”\"])?\s*[:：]?\s*")
GREETING_RE = re.compile(r"^(?:您好|你好)[！!，,。.：:\s]*")
# The lead-in that announces the answer, anywhere near the start: "……现将有关情况回复如下：".
LEAD_IN_RE = re.compile(
    r"(?:现将|现就|特就|现作|现|特将|将)?[^。！!？?：:]{0,80}?(?:回复|答复|说明|反馈)如下\s*[:：]"
)
RECEIVED_RE = re.compile(
    r"^(?:[^。！!，,]{0,12}?(?:留言|来信|来邮|函件|信件|来电|诉求|网帖|问题)[^。！!，,]{0,10}?"
    r"(?:已)?收悉)[。！!，,]?\s*"
)
LEAD_IN_WINDOW = 400
# What closes a reply: a date, a signature after the last sentence, thanks and good wishes.
DATE_TAIL_RE = re.compile(r"[\s，,]*\d{4}\s*年\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*日?)?[\s。.]*$")
SIGNATURE_TAIL_RE = re.compile(rf"(?<=[。！!])\s*[{HAN}A-Za-z0-9（）()]{{2,24}}\s*$")
CLOSING_TAIL_RE = re.compile(
    r"(?<=[。！!；;])\s*(?:再次|最后，?|同时，?)?(?:非常|衷心)?(?:感谢|谢谢|祝您|祝你|特此回复|以上回复)"
    r"[^。！!]{0,60}[。！!]?\s*$"
)
MIN_BODY = 8


def reply_body(reply: str) -> str:
    """The substance of an official reply: the reply with its salutation, lead-in, closing
    thanks, signature and date trimmed; empty when nothing else is left (a bare
    acknowledgement such as "网友：您好！留言已收悉")."""
    text = " ".join((reply or "").split())
    original = text
    text = ADDRESSEE_RE.sub("", text, count=1)
    text = GREETING_RE.sub("", text, count=1)
    lead_ins = list(LEAD_IN_RE.finditer(text[:LEAD_IN_WINDOW]))
    text = text[lead_ins[-1].end() :] if lead_ins else RECEIVED_RE.sub("", text, count=1)
    for _round in range(4):
        before = text
        text = DATE_TAIL_RE.sub("", text)
        text = CLOSING_TAIL_RE.sub("", text)
        text = SIGNATURE_TAIL_RE.sub("", text)
        text = text.strip()
        if text == before:
            break
    if len(text) < MIN_BODY:
        return ""
    # Only ever a piece of the reply: trimming never adds text.
    assert text in original
    return text


def passage(text: str, limit: int) -> str:
    """The text, or its first sentences up to ``limit`` characters followed by "…"."""
    if len(text) <= limit:
        return text
    cut = max(text.rfind(mark, 0, limit) for mark in "。！？；!?;")
    return (text[: cut + 1] if cut >= limit // 3 else text[:limit]) + "…"
