"""Words: normalisation, segmentation (``zheliban.core.segment``), pinyin, for index and queries.

Every token this module emits is either a run of ASCII letters and digits or a run of Han
characters, lower-cased and NFKC-normalised. Both full-text engines read such a token as exactly
one lexeme (PostgreSQL's parser with the ``simple`` configuration, SQLite FTS5's ``unicode61``
tokenizer), which is what makes the two backends agree: they only ever test whether a token, or a
token prefix, is present in a column.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from functools import lru_cache

from pypinyin import Style, lazy_pinyin

from zheliban.core import segment

HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef"
TOKEN_RE = re.compile(f"[a-z0-9]+|[{HAN}]+")
HAN_RUN_RE = re.compile(f"[{HAN}]+")
HAN_CHAR_RE = re.compile(f"[{HAN}]")
ASCII_RUN_RE = re.compile(r"[a-z0-9]+(?:\s+[a-z0-9]+)*")
LETTERS_RE = re.compile(r"[a-z]+")

# Pinyin tokens are cut to this length (and so is pinyin typed in a query): nobody types more
# of a name than that, and a name's tokens from every word boundary on would grow as its square.
PINYIN_CHARS = 20

# Marks the whole-name tokens: "0" + the name, its pinyin or its initials. Digits typed in a
# query are matched whole, never as a prefix, so only typing "0" + a whole name finds them.
EXACT_MARK = "0"

# Function words a question carries ("我要办护照怎么办"): dropped from queries and from the
# materials' tokens. Single characters that mean something (证, 卡, 房) are kept.
STOPWORDS = frozenset(
    """
    的 了 吗 呢 啊 吧 呀 么 哦 嘛 之 其 及 或 和 与 等 并 在 由 对 为 以 于 把 被 给 到 是 有
    我 我们 你 您 他 她 它 要 想 会 能 可以 可 应 应该 怎么 怎样 如何 怎么样 什么 哪里 哪儿 哪
    在哪 在哪里 去哪 请问 请 一下 一个 个 些 这 那 这个 那个 还 也 都 就 吗 该 需 需要 怎么办
    """.split()  # noqa: SIM905
)
# Words that say "I want to get something done" rather than what: they rank (an item named
# 办理... is a better answer to 办理护照) but do not restrict the results.
SOFT_WORDS = frozenset("办 办理 申请 申办 手续 流程 材料 条件 所需 需要什么".split())  # noqa: SIM905


def normalize(value: str) -> str:
    """NFKC (full-width to half-width, ligatures, ...) and lower case."""
    return unicodedata.normalize("NFKC", value or "").lower()


def pieces(value: str) -> list[str]:
    """The tokens of an already normalised string: ASCII and Han runs, nothing else."""
    return TOKEN_RE.findall(value)


def compact(value: str) -> str:
    """A string as one token (whole-name matching): its letters, digits and Han characters."""
    return "".join(pieces(normalize(value)))


def has_han(value: str) -> bool:
    return bool(HAN_CHAR_RE.search(value))


def dedupe(tokens: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(t for t in tokens if t))


# Names and materials repeat a lot across a catalog (身份证, 申请表 ...): segmenting and
# transliterating each distinct string once makes re-indexing several times faster.
@lru_cache(maxsize=65536)
def _cut(value: str) -> tuple[str, ...]:
    return tuple(p for word in segment.cut(value) for p in pieces(word))


@lru_cache(maxsize=65536)
def _cut_for_search(value: str) -> tuple[str, ...]:
    return tuple(p for word in segment.cut_for_search(value) for p in pieces(word))


def cut(value: str) -> list[str]:
    """Precise segmentation of normalised text, cleaned to tokens (punctuation dropped)."""
    return list(_cut(value))


def cut_for_search(value: str) -> list[str]:
    """Search-mode segmentation: every dictionary word and its shorter dictionary words."""
    return list(_cut_for_search(value))


def han_grams(value: str) -> Iterator[str]:
    """Single characters and character pairs of every Han run (substring and typo matching)."""
    for run in HAN_RUN_RE.findall(value):
        yield from run
        yield from (run[i : i + 2] for i in range(len(run) - 1))


def bigrams(word: str) -> list[str]:
    return [word[i : i + 2] for i in range(len(word) - 1)]


def trigrams(letters: str) -> list[str]:
    return [letters[i : i + 3] for i in range(len(letters) - 2)]


def syllables(word: str) -> list[str]:
    """Tone-less pinyin of a token, one entry per Han character (ü as v); ASCII stays itself."""
    return list(_syllables(word))


@lru_cache(maxsize=65536)
def _syllables(word: str) -> tuple[str, ...]:
    if not has_han(word):
        return (word,) if word else ()
    return tuple(s for s in (compact(s) for s in lazy_pinyin(word, style=Style.NORMAL)) if s)


def initials(sylls: list[str]) -> str:
    return "".join(s[0] for s in sylls if s)


def name_pinyin(value: str) -> tuple[str, str]:
    """Full pinyin and initials of a whole name: ("lihundengjiyuyue", "lhdjyy")."""
    sylls = [s for word in cut(normalize(value)) for s in syllables(word)]
    return "".join(sylls), initials(sylls)


# ---------------------------------------------------------------------------------------------
# Index side: an item's four search columns
# ---------------------------------------------------------------------------------------------


def name_tokens(names: Iterable[str]) -> list[str]:
    """Column search_name: the names' words, plus each Han character and character pair, so
    that any substring of a name is found (bigrams) whatever jieba made of its context; and the
    item's own name as one token (exact matches)."""
    names = list(names)
    tokens: list[str] = []
    for name in names:
        norm = normalize(name)
        tokens += cut_for_search(norm)
        tokens += han_grams(norm)
    exact = EXACT_MARK + compact(names[0]) if names else ""
    return dedupe([*tokens, exact if len(exact) > 1 else ""])


def pinyin_tokens(names: Iterable[str]) -> list[str]:
    """Column search_pinyin: for every word of the names its full pinyin and initials, and the
    same from every word boundary to the end of the name, so that a prefix typed in pinyin
    (``lihun``, ``lihundengji``, ``lhdj``, ``jsz`` for 驾驶证) is a token prefix; and the whole
    name's pinyin and initials as tokens (exact matches)."""
    names = list(names)
    tokens: list[str] = []
    for name in names:
        norm = normalize(name)
        words = [syllables(w) for w in cut(norm)]
        for i in range(len(words)):
            tail = [s for word in words[i:] for s in word]
            tokens += ["".join(tail)[:PINYIN_CHARS], initials(tail)[:PINYIN_CHARS]]
        for word in cut_for_search(norm):
            sylls = syllables(word)
            tokens += ["".join(sylls)[:PINYIN_CHARS], initials(sylls)[:PINYIN_CHARS]]
    if names:
        full, first = name_pinyin(names[0])
        tokens += [EXACT_MARK + full if full else "", EXACT_MARK + first if first else ""]
    return dedupe(tokens)


def gram_tokens(name: str) -> list[str]:
    """Column search_grams: the letter trigrams of the name's pinyin, for correcting pinyin
    typed wrong (``lihum``). Only the typo correction searches them."""
    full, _ = name_pinyin(name)
    return dedupe(trigrams("".join(LETTERS_RE.findall(full))))


def word_tokens(texts: Iterable[str]) -> list[str]:
    """Column search_words: the words of everything else (department, themes, materials ...)."""
    tokens: list[str] = []
    for value in texts:
        tokens += (t for t in cut_for_search(normalize(value)) if t not in STOPWORDS)
    return dedupe(tokens)
