"""The categories the dispatch model learns, and the kind of department that handles each."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Category:
    name: str
    department_kind: str  # a departments.models.Department.Kind value
    department_name: str  # the department's generic Chinese name, when no real one is known


CATEGORIES: dict[str, Category] = {
    category.name: category
    for category in (
        Category("城乡建设", "zhujian", "住房和城乡建设局"),
        Category("环境保护", "shengtai", "生态环境局"),
        Category("交通运输", "jiaotong", "交通运输局"),
        Category("教育文体", "jiaoyu", "教育局"),
        Category("劳动和社会保障", "renshe", "人力资源和社会保障局"),
        Category("商贸旅游", "shangwu", "商务局"),
        Category("卫生计生", "weijian", "卫生健康委员会"),
    )
}
CATEGORY_BY_KIND: dict[str, Category] = {c.department_kind: c for c in CATEGORIES.values()}
