"""The bounded memo: bounded by entries and by bytes, oldest out first."""

from hypothesis import given
from hypothesis import strategies as st

from nlp_service.core.memo import BoundedMemo, text_cost


def test_entry_bound_evicts_the_oldest() -> None:
    memo = BoundedMemo(3, 10_000, text_cost(1, 0))
    for t in "abcd":
        memo.put(t, t.upper())
    assert len(memo) == 3 and memo.get("a") is None and memo.get("d") == "D"


def test_byte_bound_holds_for_long_texts() -> None:
    memo = BoundedMemo(1000, 1000, text_cost(100, 0))
    memo.put("x" * 5, 1)  # 500 bytes
    memo.put("y" * 4, 2)  # 400
    memo.put("z" * 3, 3)  # 300: the oldest goes
    assert memo.get("x" * 5) is None and memo.get("y" * 4) == 2 and memo.bytes == 700
    memo.put("w" * 20, 4)  # 2,000 bytes: over the whole budget, never kept
    assert memo.get("w" * 20) is None and memo.bytes == 700


def test_zero_entries_keeps_nothing() -> None:
    memo = BoundedMemo(0, 1000, text_cost(1, 0))
    assert memo.get_or_compute("a", str.upper) == "A" and len(memo) == 0


def test_replacing_a_key_does_not_count_it_twice() -> None:
    memo = BoundedMemo(10, 1000, text_cost(10, 0))
    memo.put("abc", 1)
    memo.put("abc", 2)
    assert memo.bytes == 30 and memo.get("abc") == 2


@given(st.lists(st.text(min_size=0, max_size=30), max_size=200), st.integers(1, 20), st.integers(0, 400))
def test_bounds_always_hold(keys, max_entries, max_bytes) -> None:
    memo = BoundedMemo(max_entries, max_bytes, text_cost(7, 3))
    for k in keys:
        memo.put(k, k)
        assert len(memo) <= max_entries and memo.bytes <= max_bytes
        assert memo.bytes == sum(3 + 7 * len(x) for x in memo._data)


def test_discard_and_keys_keep_the_byte_count_right() -> None:
    memo = BoundedMemo(10, 100, lambda k: len(k))
    for k in ("a", "bb", "ccc"):
        memo.put(k, k)
    assert memo.keys() == ["a", "bb", "ccc"] and memo.bytes == 6
    memo.discard("bb")
    memo.discard("zz")  # not there: nothing happens
    assert memo.keys() == ["a", "ccc"] and memo.bytes == 4
    for k in memo.keys():  # a copy: the memo may change while it is walked
        memo.discard(k)
    assert len(memo) == 0 and memo.bytes == 0


def test_a_memo_of_fixed_cost_entries_is_bounded_by_their_count() -> None:
    memo = BoundedMemo.of_entries(3, 48)
    for k in "abcd":
        memo.put(k, k.upper())
    assert memo.keys() == ["b", "c", "d"]  # the fourth entry evicted the oldest
    assert memo.bytes == 3 * 48 and memo.max_bytes == 3 * 48


@given(st.lists(st.text(alphabet="abcdef", max_size=4), max_size=60), st.integers(0, 6), st.integers(0, 12))
def test_get_or_compute_all_is_get_or_compute_of_each_key_in_turn(keys, entries, budget) -> None:
    """The batch form returns the same values, computes the same keys in the same order and
    leaves the same entries and bytes (evictions within the batch included)."""
    seen_one, seen_all = [], []
    one, whole = BoundedMemo(entries, budget, text_cost(2, 1)), BoundedMemo(entries, budget, text_cost(2, 1))
    expected = [one.get_or_compute(k, lambda k: seen_one.append(k) or k.upper()) for k in keys]
    assert whole.get_or_compute_all(keys, lambda k: seen_all.append(k) or k.upper()) == expected
    assert seen_all == seen_one and whole.keys() == one.keys() and whole.bytes == one.bytes
