"""Words of a complaint for the dispatch model: NFKC, lower case, jieba's words, no function words.

The catalog's search has its own segmentation (``catalog.search.text``), tuned for short names
and memoised per string; complaints are long and seldom repeat, so they are segmented here
without a cache.
"""

from __future__ import annotations

import re
import unicodedata

from zheliban.core import segment

HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef"
WORD_RE = re.compile(f"[a-z]+|[{HAN}]+")
# Place names are anonymised in the training messages (A市, A3区): a lone letter names no topic.
LONE_LETTER_RE = re.compile(r"[a-z]")
STOPWORDS = frozenset(
    """
    的 了 吗 呢 啊 吧 呀 么 哦 嘛 之 其 及 或 和 与 等 并 在 由 对 为 以 于 把 被 给 到 是 有
    我 我们 你 您 他 她 它 要 想 会 能 可以 可 这 那 这个 那个 还 也 都 就 该 请问 请 一下 一个
    个 些
    """.split()  # noqa: SIM905
)


# Words that say how or when, never what: a dispatcher does not recognise a matter in them, so
# they are never given as the reasons of a suggestion (they may still weigh in the model).
GENERIC_WORDS = frozenset(
    """
    很 太 非常 特别 比较 十分 一直 已经 还是 还有 没有 不是 不能 不要 不会 怎么 什么 为什么 如何
    现在 目前 最近 今天 昨天 今年 去年 上次 多次 每次 一次 几次 多年 时候 时间 以后 以前 之前
    之后 期间 问题 情况 事情 反映 希望 要求 相关 有关 部门 处理 解决 回复 答复 投诉 举报 咨询
    建议 市民 本人 我家 他们 自己 大家 这样 那样 这些 那些 号 元 年 月 日 点 号楼 单元
    """.split()  # noqa: SIM905
)
DIGIT_RE = re.compile(r"[0-9０-９]")
NUMERAL_RE = re.compile(r"^[一二三四五六七八九十百千万两零几]+[个次年月日号点天元楼层岁]?$")


def recognisable(term: str) -> bool:
    """Whether a model term (a word, or words joined by spaces) names something a dispatcher
    recognises: no digits or numbers, no lone character, not only generic words."""
    words_ = term.split()
    if not words_ or DIGIT_RE.search(term):
        return False
    content = [
        w
        for w in words_
        if w not in GENERIC_WORDS and w not in STOPWORDS and not NUMERAL_RE.match(w)
    ]
    return bool(content) and all(len(w) >= 2 for w in content)


def normalize(value: str) -> str:
    value = value or ""
    # Most texts are NFKC already; checking is much cheaper than normalising.
    if not unicodedata.is_normalized("NFKC", value):
        value = unicodedata.normalize("NFKC", value)
    return value.lower()


def words(value: str) -> list[str]:
    """The words of a text: runs of Han characters or of letters, as jieba cuts them.

    A run never crosses the spaces joining the cut words, so one pass of the pattern over them
    finds exactly the pieces a pass over each word would."""
    return [
        piece
        for piece in WORD_RE.findall(" ".join(segment.cut(normalize(value))))
        if piece not in STOPWORDS and not LONE_LETTER_RE.fullmatch(piece)
    ]


def ticket_text(topic: str, detail: str) -> str:
    """One text from a title and a body; the title counts twice (it names the matter)."""
    topic = (topic or "").strip()
    return f"{topic}。{topic}。{detail or ''}" if topic else detail or ""


def __getattr__(name: str):
    """``Segmenter``, which pipelines trained before it moved name here (pickle looks it up by
    its module and name); scikit-learn is loaded only then."""
    if name == "Segmenter":
        from .segmenter import Segmenter

        return Segmenter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
