"""From what a citizen typed to what the engines search.

A query is a list of *groups* that must all match (AND). A group is one word of the query, or a
phrase the synonym table rewrites, and lists its *alternatives* (OR): the word itself, or the
catalog's words for the phrase. An alternative matches an item

- in its name: as a name token, or, for a Han word, when the name holds every character pair of
  it (so 结婚登记 is found in 结婚登记预约 whatever jieba made of either); for ASCII, as a prefix
  of the name's pinyin or initials (``lihun``, ``lhdj``);
- elsewhere: as a token of its department, themes, life events, materials or conditions.

The boolean tree built here (``Term``, ``All``, ``Any``) is rendered to a PostgreSQL ``tsquery``
or an SQLite FTS5 expression; both only test token presence, so both answer the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from . import text as t

MAX_GROUPS = 8
MAX_ALTERNATIVES = 8

# Where a token is looked for. Each place is one tsvector column on PostgreSQL and a set of
# columns of the FTS5 table on SQLite.
NAME = "n"  # the names' words, characters and pairs, pinyin, initials, whole-name tokens
WORDS = "w"  # department, themes, life events, materials, summary, conditions
TYPO = "t"  # letter trigrams of the name's pinyin (pinyin typo correction only)
FTS_COLUMNS = {
    NAME: ("search_name", "search_pinyin"),
    WORDS: ("search_words",),
    TYPO: ("search_grams",),
}


@dataclass(frozen=True)
class Term:
    token: str
    places: str
    prefix: bool = False


@dataclass(frozen=True)
class All:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Any:
    parts: tuple[Node, ...]


Node = Term | All | Any


def all_of(parts: Iterable[Node]) -> Node:
    parts = tuple(dict.fromkeys(parts))
    return parts[0] if len(parts) == 1 else All(parts)


def any_of(parts: Iterable[Node]) -> Node:
    parts = tuple(dict.fromkeys(parts))
    return parts[0] if len(parts) == 1 else Any(parts)


def places(node: Node) -> set[str]:
    if isinstance(node, Term):
        return set(node.places)
    return set().union(*(places(part) for part in node.parts))


def to_fts5(node: Node) -> str:
    """SQLite FTS5 query expression: every place in one expression, by column filters."""
    if isinstance(node, Term):
        columns = " ".join(c for place in node.places for c in FTS_COLUMNS[place])
        return f'{{{columns}}} : "{node.token}"{" *" if node.prefix else ""}'
    joiner = " AND " if isinstance(node, All) else " OR "
    return "(" + joiner.join(to_fts5(part) for part in node.parts) + ")"


def to_tsquery(node: Node) -> str:
    """PostgreSQL tsquery text of a tree over one place, cast with ``::tsquery`` (lexemes are
    taken as they are, not parsed again)."""
    if isinstance(node, Term):
        return f"'{node.token}'{':*' if node.prefix else ''}"
    joiner = " & " if isinstance(node, All) else " | "
    return "(" + joiner.join(to_tsquery(part) for part in node.parts) + ")"


def by_place(node: Node) -> list[tuple[str, str] | tuple[str, list]]:
    """A tree as a boolean of (place, tsquery) checks, one check per run of the tree that stays
    in one place: ``('and'|'or', [...])`` or ``('n', tsquery)``. PostgreSQL keeps each place in
    its own tsvector column, so a tree that mixes places becomes several ``@@``."""
    where = places(node)
    if len(where) == 1:
        return (where.pop(), to_tsquery(node))
    if isinstance(node, Term):
        return ("or", [(place, to_tsquery(node)) for place in node.places])
    joiner = " & " if isinstance(node, All) else " | "
    merged: dict[str, list[Node]] = {}
    mixed = []
    for part in node.parts:
        part_places = places(part)
        if len(part_places) == 1:
            merged.setdefault(next(iter(part_places)), []).append(part)
        else:
            mixed.append(by_place(part))
    checks = [
        (
            place,
            to_tsquery(parts[0])
            if len(parts) == 1
            else "(" + joiner.join(map(to_tsquery, parts)) + ")",
        )
        for place, parts in merged.items()
    ]
    return ("and" if isinstance(node, All) else "or", [*checks, *mixed])


def word_node(word: str, *, where: str) -> Node:
    """One token of an alternative, in the name (``name``), elsewhere (``other``) or anywhere."""
    if not t.has_han(word):
        where_ = {"name": NAME, "other": WORDS, "any": NAME + WORDS}[where]
        # Letters are pinyin (or an abbreviation) being typed: a prefix. Digits are a number,
        # matched whole (and never a prefix of the "0"-marked whole-name tokens).
        if word[0].isdigit():
            return Term(word, where_)
        return Term(word[: t.PINYIN_CHARS], where_, prefix=True)
    options: list[Node] = []
    if where in ("name", "any"):
        options.append(Term(word, NAME))
        if len(word) > 2:
            options.append(all_of(Term(pair, NAME) for pair in t.bigrams(word)))
    if where in ("other", "any"):
        options.append(Term(word, WORDS))
        parts = t.cut(word)
        if len(parts) > 1:
            # Elsewhere only jieba's words are indexed: 社会保障卡 is 社会保障 + 卡 there.
            options.append(all_of(Term(part, WORDS) for part in parts))
    return any_of(options)


def alternative_words(alternative: str) -> list[str]:
    """An alternative's words: ``居民身份证+补领`` needs both; ``IC卡`` is ``ic`` and ``卡``."""
    return [w for part in alternative.split("+") for w in t.pieces(t.normalize(part))]


def alternative_node(alternative: str, *, where: str) -> Node:
    return all_of(word_node(w, where=where) for w in alternative_words(alternative))


@dataclass
class Group:
    alternatives: list[str]
    required: bool = True
    said: str = ""  # the phrase the synonym table rewrote, if any

    def node(self, where: str) -> Node:
        return any_of(alternative_node(a, where=where) for a in self.alternatives)

    def alternative_nodes(self, where: str) -> list[Node]:
        return [alternative_node(a, where=where) for a in self.alternatives]


@dataclass
class Plan:
    """What ``search_items`` searches for: groups, the words shown, the phrases rewritten."""

    text: str
    groups: list[Group] = field(default_factory=list)
    exact: list[str] = field(default_factory=list)
    suspicious: bool = False  # a stray single character: perhaps a typo (驾驶正 → 驾驶/正)

    @property
    def required(self) -> list[Group]:
        return [g for g in self.groups if g.required]

    @property
    def terms(self) -> list[str]:
        return t.dedupe(
            w for g in self.groups for a in g.alternatives for w in alternative_words(a)
        )

    @property
    def expanded_from(self) -> str:
        return " ".join(t.dedupe(g.said for g in self.groups))

    @property
    def han_terms(self) -> list[str]:
        return [w for w in self.terms if t.has_han(w)]

    @property
    def ascii_terms(self) -> list[str]:
        return [w for w in self.terms if not t.has_han(w)]

    def __bool__(self) -> bool:
        return bool(self.groups)

    def match(self, *, relaxed: bool = False) -> Node:
        """Every required group (or, relaxed, any group) somewhere in the item."""
        groups = self.groups if relaxed else self.required
        combine = any_of if relaxed else all_of
        return combine(g.node("any") for g in groups)

    def name_match(self, *, relaxed: bool = False) -> Node:
        """Every required group (or, relaxed, any group) in the name: the results ranked first."""
        groups = self.groups if relaxed else self.required
        combine = any_of if relaxed else all_of
        return combine(g.node("name") for g in groups)

    def elsewhere_match(self, *, relaxed: bool = False) -> Node:
        """Some group outside the name: what every match not wholly in the name also holds (a
        condition the index can answer before the name is looked at)."""
        groups = self.groups if relaxed else self.required
        return any_of(g.node("other") for g in groups)

    def exact_node(self) -> Node | None:
        keys = t.dedupe(t.EXACT_MARK + k for k in self.exact if k)
        return any_of(Term(k, NAME) for k in keys) if keys else None


def query_tokens(value: str) -> list[str]:
    """The query's words in order: each ASCII run as one pinyin word (``lihun dengji`` →
    ``lihundengji``), Han text cut by jieba."""
    return list(_query_tokens(value))


# The same few thousand queries make most of the traffic: segmented once per process.
@lru_cache(maxsize=16384)
def _query_tokens(value: str) -> tuple[str, ...]:
    tokens: list[str] = []
    position = 0
    for match in t.ASCII_RUN_RE.finditer(value):
        tokens += t.cut(value[position : match.start()])
        tokens.append("".join(match[0].split()))
        position = match.end()
    tokens += t.cut(value[position:])
    return tuple(tokens)


def split_expansion(expansion: str) -> list[str]:
    """Alternatives separated by spaces (or commas); ``+`` joins words that must all be found."""
    alternatives = []
    for alternative in normalize_separators(expansion).split():
        words = [t.compact(w) for w in alternative.split("+")]
        alternatives.append("+".join(w for w in words if w))
    return t.dedupe(alternatives)


def normalize_separators(value: str) -> str:
    for mark in "，,、;；/|":
        value = value.replace(mark, " ")
    return t.normalize(value)


def plan_query(value: str, synonyms: Mapping[str, str] | None = None) -> Plan:
    """Segment the query, rewrite synonym phrases (on word boundaries: 离婚 is not rewritten
    inside 离婚证), drop function words and set aside the soft ones."""
    norm = t.normalize(value).strip()
    plan = Plan(text=norm)
    tokens = query_tokens(norm)
    if not tokens:
        return plan
    phrases = {t.compact(p): split_expansion(e) for p, e in (synonyms or {}).items()}
    phrases = {p: e for p, e in phrases.items() if p and e}
    longest = max((len(p) for p in phrases), default=0)
    groups: list[Group] = []
    stray = False  # a single character jieba could not join to a word: perhaps a typo
    i = 0
    while i < len(tokens):
        found = None
        if phrases:
            joined = ""
            for j in range(i, len(tokens)):
                joined += tokens[j]
                if len(joined) > longest:
                    break
                if joined in phrases:
                    found = (j + 1, joined)
        if found:
            end, phrase = found
            groups.append(Group(phrases[phrase][:MAX_ALTERNATIVES], said=phrase))
            i = end
            continue
        token = tokens[i]
        i += 1
        if token in t.STOPWORDS:
            continue
        stray = stray or (len(token) == 1 and t.has_han(token) and token not in t.SOFT_WORDS)
        groups.append(Group([token], required=token not in t.SOFT_WORDS))
    if not groups:
        # Only function words: search them rather than nothing.
        groups = [Group([tok]) for tok in t.dedupe(tokens)]
    if not any(g.required for g in groups):
        for g in groups:
            g.required = True
    seen: set[tuple[str, ...]] = set()
    for g in groups:
        key = tuple(g.alternatives)
        if key not in seen and len(plan.groups) < MAX_GROUPS:
            seen.add(key)
            plan.groups.append(g)
    plan.exact = [t.compact(norm)]
    if len(plan.groups) == 1:
        plan.exact += [a for a in plan.groups[0].alternatives if "+" not in a]
    plan.suspicious = stray
    return plan
