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
