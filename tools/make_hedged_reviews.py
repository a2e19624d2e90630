"""Generate ``data/reviews/hedged_reviews.tsv``: mixed reviews built from hand-written clauses.

Deterministic (``random.Random(10)``), standard library only.  Run::

    python tools/make_hedged_reviews.py     # writes data/reviews/hedged_reviews.tsv

Why: a mixed review (位置不错，但是房间太小 / 味道还行，就是送了一个半小时) is the main error of
the sentiment model on outside reviews, and a hand-written file of a few hundred such rows
barely moves it.  The clauses in ``data/reviews/clauses/`` are hand-written per domain
(food delivery, hotels, goods) and per kind: praise, a mild complaint (有点咸, 稍微小了点), a
serious one (a concrete failure: late by an hour, missing items, hair in the food, broken on
arrival) and, for food, a small wish (希望分量再多一点).  This script joins them the way
people type reviews, and labels each join by one rule:

* praise, then 但是/就是/不过/唯一不足是 and a mild complaint → positive, and a mild complaint
  then 不过/但是 and praise → positive too (a small flaw in a good review: four stars);
* praise, then 但是/就是/可惜 and a serious complaint → negative (the verdict comes last);
* a serious complaint anywhere → negative, even followed by praise (a failed order is a
  failed order: 送了一个半小时，不过味道还行);
* praise with a small wish → positive; praise only → positive; complaints only → negative;
* a mild complaint then 其他都还不错 → positive, a serious one then 其他都还不错 → negative;
* negated praise (不是很好吃, 房间不太干净, 没想象中好用: ``clauses/negated.txt`` joins a
  negator to a praise word of the domain) → negative, alone or after praise and 但是.
"""

from __future__ import annotations

import random
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLAUSES = ROOT / "data" / "reviews" / "clauses"
OUT = ROOT / "data" / "reviews" / "hedged_reviews.tsv"

BUT = ["，但是", "，但", "，就是", "，不过", "，可惜", "，只是", "，可是", "。但是", "，唯一不足是", "，美中不足的是", " 就是", "，缺点是", ",但是", ",就是"]
THOUGH = ["，不过", "，但是", "，但", "。不过", "，好在", ",不过", " 不过", "，但总的来说"]
AND = ["，", "，", "，而且", "，还", ",", " ", "。", "！"]
POS_END = ["", "", "", "。", "！", "，好评", "，会回购", "，推荐", "，下次还来", "~", "，满意", "，五星"]
NEG_END = ["", "", "", "。", "！", "…", "，差评", "，失望", "，不会再来了", "，给个差评", "。。。", "，体验很差"]
MIXED_END = ["", "", "", "。", "…", "！"]
# rows per domain: food delivery is where outside reviews miss most
PER_DOMAIN = {"food": 1600, "hotel": 550, "goods": 550}


def _read(name: str) -> list[str]:
    path = CLAUSES / f"{name}.txt"
    if not path.exists():
        return []
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")]


def _negated(domain: str) -> list[str]:
    """Negated praise of one domain: [subject] + negator + praise word (味道不是很好吃)."""
    negators, words, subjects = [], [], [""]
    for line in _read("negated"):
        cols = line.split("\t")
        if cols[0] == "NEG":
            negators.append(cols[1])
        elif cols[0] == domain:
            words.append(cols[1])
        elif cols[0] == "SUBJ" and cols[1] == domain:
            subjects.append(cols[2])
    return [s + n + w for s in subjects for n in negators for w in words]


def _row(rng: random.Random, c: dict[str, list[str]]) -> tuple[str, str]:
    """One review and its label, by the rules in the module docstring."""
    p, m, s = c["praise"], c["mild"], c["serious"]
    kind = rng.choice(
        ["p_but_s", "p_but_s", "p_but_m", "p_but_m", "m_tho_p", "m_tho_p", "s_tho_p", "pp", "ss", "p_s", "s_p", "p_wish", "mm"]
        + ["neg", "neg", "p_but_neg", "m_rest", "s_rest"]
    )
    if kind == "p_wish" and not c["wish"]:
        kind = "pp"
    if kind == "neg":
        return _pick(rng, c["negated"]) + rng.choice(MIXED_END + NEG_END), "negative"
    if kind == "p_but_neg":
        return _pick(rng, p) + rng.choice(BUT) + _pick(rng, c["negated"]) + rng.choice(MIXED_END), "negative"
    if kind in ("m_rest", "s_rest"):
        first = _pick(rng, m if kind == "m_rest" else s)
        return first + rng.choice(["，", ",", "。", " "]) + _pick(rng, c["rest_ok"]), "positive" if kind == "m_rest" else "negative"
    if kind == "p_but_s":
        return _pick(rng, p) + rng.choice(BUT) + _pick(rng, s) + rng.choice(MIXED_END + NEG_END), "negative"
    if kind == "p_but_m":
        return _pick(rng, p) + rng.choice(BUT) + _pick(rng, m) + rng.choice(MIXED_END), "positive"
    if kind == "m_tho_p":
        return _pick(rng, m) + rng.choice(THOUGH) + _pick(rng, p) + rng.choice(MIXED_END + POS_END), "positive"
    if kind == "s_tho_p":
        return _pick(rng, s) + rng.choice(THOUGH) + _pick(rng, p) + rng.choice(MIXED_END), "negative"
    if kind == "pp":
        parts = rng.sample(p, rng.choice([2, 2, 3]))
        return _join(rng, parts) + rng.choice(POS_END), "positive"
    if kind == "ss":
        return _join(rng, rng.sample(s, 2)) + rng.choice(NEG_END), "negative"
    if kind == "mm":
        return _join(rng, rng.sample(m, 2)) + rng.choice(MIXED_END), "negative"
    if kind == "p_s":
        return _pick(rng, p) + rng.choice(["，", ",", "。", " "]) + _pick(rng, s) + rng.choice(MIXED_END + NEG_END), "negative"
    if kind == "s_p":
        return _pick(rng, s) + rng.choice(["，", ",", "。", " "]) + _pick(rng, p) + rng.choice(MIXED_END), "negative"
    return _pick(rng, p) + rng.choice(["，", "，", ",", "。", " "]) + _pick(rng, c["wish"]) + rng.choice(MIXED_END), "positive"


def _pick(rng: random.Random, clauses: list[str]) -> str:
    return rng.choice(clauses)


def _join(rng: random.Random, parts: list[str]) -> str:
    out = parts[0]
    for part in parts[1:]:
        out += rng.choice(AND) + part
    return out


def build() -> dict[str, str]:
    """Every review and its label, in file order (the same on every run)."""
    rng = random.Random(10)
    rows: dict[str, str] = {}
    for domain, n in PER_DOMAIN.items():
        c = {kind: _read(f"{domain}_{kind}") for kind in ("praise", "mild", "serious", "wish", "rest_ok")}
        c["negated"] = _negated(domain)
        made = 0
        while made < n:
            text, label = _row(rng, c)
            if text not in rows:
                rows[text] = label
                made += 1
    return rows


def main() -> None:
    rows = build()
    lines = ["text\tsentiment", *(f"{t}\t{lab}" for t, lab in rows.items())]
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(rows)} reviews to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
