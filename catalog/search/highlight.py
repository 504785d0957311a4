"""Marking the searched words in a result: its name, and a short excerpt of its materials or
conditions. Everything is escaped; only our own ``<mark>`` tags are left as HTML.

Both are pure functions of their (hashable) arguments, memoised: a page of results comes back
with the same names and words for every visitor who searches them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from zheliban.core import segment

from . import text as t

Span = tuple[int, int]

SNIPPET_BEFORE = 16
SNIPPET_AFTER = 40
ELLIPSIS = "…"


class Normalized:
    """A text normalised character by character, remembering where each character came from, so
    that a match found in the normalised text marks the original characters."""

    def __init__(self, original: str):
        self.original = original
        folded = t.normalize(original)
        if len(folded) == len(original):
            # The usual case: full-width forms and capitals fold character for character. (If an
            # expansion and a composition ever cancel out, a mark is misplaced, never unescaped.)
            self.text, self.origin = folded, range(len(original))
            return
        chars: list[str] = []
        origin: list[int] = []
        for index, char in enumerate(original):
            for out in t.normalize(char):
                chars.append(out)
                origin.append(index)
        self.text, self.origin = "".join(chars), origin

    def span(self, start: int, end: int) -> Span:
        return self.origin[start], self.origin[end - 1] + 1

    def find_all(self, word: str) -> Iterable[Span]:
        start = self.text.find(word)
        while start != -1 and word:
            yield self.span(start, start + len(word))
            start = self.text.find(word, start + 1)


def merge(spans: Iterable[Span]) -> list[Span]:
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def render(value: str, spans: Iterable[Span]) -> SafeString:
    out: list[str] = []
    position = 0
    for start, end in merge(spans):
        out += [escape(value[position:start]), "<mark>", escape(value[start:end]), "</mark>"]
        position = end
    out.append(escape(value[position:]))
    return mark_safe("".join(out))  # noqa: S308 - every piece of text above is escaped


def han_spans(norm: Normalized, words: Sequence[str]) -> list[Span]:
    return [span for word in words for span in norm.find_all(word)]


def pinyin_spans(norm: Normalized, typed: Sequence[str]) -> list[Span]:
    """Where pinyin or initials typed in ASCII fall in the name: a run of words from a word
    boundary whose pinyin (or initials) starts with what was typed, or one search-mode word."""
    if not typed:
        return []
    precise = [(w, s, e, t.syllables(t.compact(w))) for w, s, e in segment.tokenize(norm.text)]
    precise = [(w, s, e, syl) for w, s, e, syl in precise if syl]
    search = [
        (s, e, t.syllables(t.compact(w))) for w, s, e in segment.tokenize(norm.text, search=True)
    ]
    spans: list[Span] = []
    for word in typed:
        for i, (_, start, _, _) in enumerate(precise):
            full = first = ""
            for _, _, end, sylls in precise[i:]:
                full += "".join(sylls)
                first += t.initials(sylls)
                if full.startswith(word) or first.startswith(word):
                    spans.append(norm.span(start, end))
                    break
                if not (word.startswith(full) or word.startswith(first)):
                    break
        for start, end, sylls in search:
            if sylls and ("".join(sylls).startswith(word) or t.initials(sylls).startswith(word)):
                spans.append(norm.span(start, end))
    return spans


@lru_cache(maxsize=8192)
def highlight_name(name: str, *, han: tuple[str, ...], typed: tuple[str, ...]) -> SafeString:
    norm = Normalized(name)
    return render(name, [*han_spans(norm, han), *pinyin_spans(norm, typed)])


@lru_cache(maxsize=2048)
def snippet(texts: tuple[str, ...], *, han: tuple[str, ...]) -> SafeString:
    """A short excerpt around the first searched word in the first text that has one."""
    words = sorted(set(han), key=len, reverse=True)
    if not words:
        return mark_safe("")
    for value in texts:
        if not value:
            continue
        norm = Normalized(value)
        found = [span for span in han_spans(norm, words)]
        if not found:
            continue
        first = min(found)
        start = max(0, first[0] - SNIPPET_BEFORE)
        end = min(len(value), first[1] + SNIPPET_AFTER)
        inside = [
            (max(s, start) - start, min(e, end) - start) for s, e in found if s < end and e > start
        ]
        body = render(value[start:end], inside)
        prefix = ELLIPSIS if start > 0 else ""
        suffix = ELLIPSIS if end < len(value) else ""
        return mark_safe(prefix + body + suffix)  # noqa: S308 - body is escaped by render
    return mark_safe("")
