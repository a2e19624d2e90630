"""Generate ``data/moderation/train/group_talk.tsv`` from ``data/moderation/templates/group_talk.tsv``.

Attacks on a group of people rarely carry an insulting word: they state a stereotype as a
fact (X人就是懒), compare a group to animals, call for exclusion, or mock a group with
sarcasm. Each hand-written template pairs with the groups its topic allows, and the
hard negatives (anti-bias statements, news-like mentions, personal experience) name the very
same groups, so the classifier learns the claim made about a group, not the group's name.
Every group name here is one ``data/moderation/groups.txt`` recognises, so training treats
these rows as comments that name a group (the group model, ``nlp_service/moderation/group_model.py``).

Deterministic: each template takes ``PER_TEMPLATE`` groups picked by a hash of the template,
so the same templates always write the same rows. Standard library only.  Run::

    python tools/make_group_rows.py
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "data" / "moderation" / "templates" / "group_talk.tsv"
OUT = ROOT / "data" / "moderation" / "train" / "group_talk.tsv"
PER_TEMPLATE = 7

PLACE = [
    "河南人", "东北人", "上海人", "北京人", "广东人", "四川人", "山东人", "新疆人", "温州人",
    "安徽人", "福建人", "湖南人", "江西人", "甘肃人", "农村人", "外地人", "乡下人", "潮汕人",
    "苏北人", "香港人", "台湾人", "西北人", "南方人", "北方人", "广西人", "贵州人", "湖北人",
    "河北人", "山里人", "东北佬", "河南佬", "外省人", "本地人", "城里人",
]
PEOPLE = [
    "黑人", "白人", "印度人", "日本人", "韩国人", "越南人", "非洲人", "老外", "外国人", "美国人",
    "菲律宾人", "欧美人", "中东人", "阿拉伯人", "东南亚人", "少数民族", "黄种人", "白皮",
    "洋人", "俄罗斯人", "巴基斯坦人", "泰国人",
]
WOMEN = ["女人", "女的", "现在的女人", "那些女人", "这些女的", "女司机", "女性", "已婚女人"]
MEN = ["男人", "男的", "现在的男人", "直男", "这些男的", "那些男人", "男性", "已婚男人", "大老爷们"]
QUEER = ["同性恋", "搞同性恋的", "那些同性恋", "同性恋群体", "跨性别者"]
SLOTS = {"place": PLACE, "people": PEOPLE, "any": PLACE + PEOPLE, "women": WOMEN, "men": MEN, "queer": QUEER}


def _picks(template: str, groups: list[str], k: int) -> list[str]:
    """``k`` groups for a template, the same on every run."""
    return sorted(groups, key=lambda g: hashlib.sha256(f"{template}\x00{g}".encode()).hexdigest())[:k]


def _family(template: str) -> str:
    """One key per template: its rows share a fold and a side of the held-out split."""
    return "group_talk:" + hashlib.sha256(template.encode()).hexdigest()[:12]


def main() -> None:
    rows: dict[str, tuple[str, str]] = {}
    with SOURCE.open(encoding="utf-8", newline="") as fh:
        for rec in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
            for g in _picks(rec["template"], SLOTS[rec["topic"]], PER_TEMPLATE):
                rows.setdefault(rec["template"].replace("{g}", g), (rec["label"], _family(rec["template"])))
    with OUT.open("w", encoding="utf-8", newline="") as fh:
        fh.write("text\tcategories\tkind\tfamily\n")
        for text, (label, family) in rows.items():
            fh.write(f"{text}\t{label}\t{'plain' if label != 'none' else 'hard_negative'}\t{family}\n")
    print(f"wrote {len(rows)} rows to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
