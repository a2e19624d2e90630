import pytest

from nlp_service.replies.regex_safety import UnsafeRegex, check_structure


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"(a+)+$", "inside a quantifier"),
        (r"(\d{1,3}[,.]?)*x", "inside a quantifier"),
        (r"(?:(?:哈)+)+", "inside a quantifier"),
        (r"(好|好的)+", "match nothing"),  # the parser factors out 好, leaving (|的)
        (r"(\w|1a)+!", "same character"),
        (r"(.|链接)*", "same character"),
        (r"\d+\d+元", "side by side"),
        (r"\w+\s*\w+!", "side by side"),  # \s* can be empty, so the two \w+ touch
        (r".*.*x", "side by side"),
        (r"(\d)\1", "backreference"),
        (r"(a)?(?(1)b|c)", "backreference"),
        (r"\p{Han}+", "cannot read"),  # regex-module syntax: refused rather than guessed
        # the three the probe saved and then ran on a 900-comment batch of q…m… for 17.7 s
        (r"(?:q+m+)+z", "inside a quantifier"),
        (r"(.*q.*m){10}z", "inside a quantifier"),
        (r"(?=(qm)+z)", "lookaround"),
        (r"(?<!x.*)y", "lookaround|cannot read"),  # (re refuses a variable-width lookbehind itself)
        (r"(?!(?:ab)*c)d", "lookaround"),
    ],
)
def test_unsafe_shapes_are_named(pattern: str, reason: str) -> None:
    with pytest.raises(UnsafeRegex, match=reason):
        check_structure(pattern)


@pytest.mark.parametrize(
    "pattern",
    [
        r"\d+号链接",
        r"(几|多少)号?链接",
        r"^(\d{3})-(\d{4})$",
        r"(a{3})+",  # a fixed-length inner repeat cannot be split two ways
        r"(ab|ac)+",
        r"(优惠券|券)+",
        r"\s+\S+",
        r"[a-z]+\d+",
        r"(?:多少|几)钱",
        r"链接(?=\d{1,3}号)",  # a bounded lookaround is fine
        r"(?<!不)要",
    ],
)
def test_safe_patterns_pass(pattern: str) -> None:
    check_structure(pattern)
