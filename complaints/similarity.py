"""Whether two tickets are about the same matter: the same place, and much the same thing.

Citizens describe one building site in different words (工地半夜打桩 / 夜间施工噪音扰民), so
plain character overlap misses real repeats and takes two different roads' sites for one. A
ticket's fingerprint keeps three things of its text: its character pairs, the places it names
(roads, streets, communities, stations…) and the concepts of the common matters it mentions, each
a set of everyday synonyms. Two tickets that name the same place and share at least two concepts
(one of them naming what it is about, not only when or how: night and noise alone make no
matter the same) are the same matter; two that name only different places are not, whatever
their words; the rest are judged by their character overlap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .dispatch.text import normalize

# Everyday words for the matters citizens most often report, by concept. A concept is shared when
# each text uses any of its words.
CONCEPTS: dict[str, tuple[str, ...]] = {
    "night": ("夜间", "晚上", "深夜", "半夜", "凌晨", "夜里", "通宵", "十一点", "十二点", "12点"),
    "construction": ("施工", "工地", "打桩", "建筑", "工程", "渣土", "搅拌", "挖掘"),
    "noise": ("噪音", "噪声", "吵", "扰民", "睡不着", "无法休息", "影响休息", "轰鸣"),
    "light": ("路灯", "照明", "不亮", "灯坏"),
    "road": ("路面", "坑洼", "塌陷", "井盖", "破损", "积水"),
    "water": ("停水", "水压", "自来水", "漏水", "水管"),
    "power": ("停电", "电压", "跳闸", "供电"),
    "waste": ("垃圾", "清运", "异味", "臭味", "脏乱"),
    "parking": ("停车", "占道", "乱停", "车位"),
    "smoke": ("油烟", "烟雾", "焚烧", "废气"),
    "food": ("食品", "过期", "餐馆", "饭店", "后厨", "变质"),
    "property": ("物业", "业委会", "物业费", "停车费"),
    "wage": ("工资", "拖欠", "欠薪", "讨薪"),
    "bus": ("公交", "站台", "线路", "班次"),
    "school": ("学校", "学生", "学位", "入学"),
}
# Concepts that say when or how, never what: shared alone, they make no matter the same.
MODIFIERS = frozenset({"night", "noise"})
_CONCEPT_WORDS = [(word, concept) for concept, ws in CONCEPTS.items() for word in ws]

# A named place: two to eight characters before a word that ends a place's name.
PLACE_RE = re.compile(
    r"([\u4e00-\u9fff0-9]{2,8}?"
    r"(?:大道|大街|路|街|巷|弄|小区|社区|村|广场|公园|花园|新村|家园|苑|桥|地铁站|车站|站|市场|中学|小学|医院))"
)
# What precedes a place word but names no place (我们小区, 这个路口).
NOT_A_PLACE = re.compile(r"^(?:我们|你们|他们|我家|本|该|这个|那个|这条|那条|附近|一个|整个|门口)")


def _pairs(text: str) -> set[str]:
    text = re.sub(r"[\W_]+", "", text)
    return {text[i : i + 2] for i in range(len(text) - 1)}


def _places(text: str) -> frozenset[str]:
    found = set()
    for match in PLACE_RE.findall(text):
        name = NOT_A_PLACE.sub("", match)
        if len(name) >= 3:
            found.add(name)
    return frozenset(found)


@dataclass(frozen=True)
class Fingerprint:
    pairs: frozenset[str]
    places: frozenset[str]
    concepts: frozenset[str]
    address: frozenset[str]


def fingerprint(title: str, content: str, address: str = "") -> Fingerprint:
    text = normalize(f"{title} {content}")
    place_text = f"{text} {normalize(address)}"
    return Fingerprint(
        pairs=frozenset(_pairs(text)),
        places=_places(place_text),
        concepts=frozenset(concept for word, concept in _CONCEPT_WORDS if word in text),
        address=frozenset(_pairs(normalize(address))),
    )


def overlap(a: frozenset[str] | set[str], b: frozenset[str] | set[str]) -> float:
    """The share of the smaller set found in the other (0 when either has fewer than 4)."""
    if min(len(a), len(b)) < 4:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def same_place(a: Fingerprint, b: Fingerprint) -> bool | None:
    """True when both name a place in common, False when both name places and none in common,
    None when either names none."""
    if not a.places or not b.places:
        return None
    return any(x in y or y in x for x in a.places for y in b.places)


def same_matter_score(a: Fingerprint, b: Fingerprint) -> float:
    """How much two tickets read as one matter, 0–1 (0.6 and above: likely the same)."""
    place = same_place(a, b)
    shared = a.concepts & b.concepts
    score = overlap(a.pairs, b.pairs)
    if place is False:
        score *= 0.3  # different roads' sites are different matters
    if a.address and b.address:
        # a different street lowers the score; the same one keeps it
        score *= 0.5 + 0.5 * overlap(a.address, b.address)
    if place is True and len(shared) >= 2 and shared - MODIFIERS:
        # the same place and the same thing, in other words
        score = max(score, min(0.9, 0.6 + 0.1 * len(shared)))
    return round(score, 3)
