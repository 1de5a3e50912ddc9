"""People's names in their own order: the one place a family name and a given name are put together.

A Chinese name is family name then given name with no space (钟丽); a name in a Latin script is
given name then family name (Ada Lovelace). The order follows the name, not the reader: 钟丽 is
钟丽 on an English page too.
"""

from __future__ import annotations

import re

# CJK ideographs (with extension A and the compatibility block): a name written in Chinese.
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def person_name(*, family: str, given: str) -> str:
    family, given = (family or "").strip(), (given or "").strip()
    if _CJK.search(family + given):
        return f"{family}{given}"
    return " ".join(part for part in (given, family) if part)
