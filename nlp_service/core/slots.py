"""Building instances of frozen slotted dataclasses without their ``__init__``, and of
NamedTuples without their ``__new__``.

A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__`` (the class
refuses plain assignment), about 1,500 instructions a field: building the ``Analysis`` and
``Normalized`` of a new comment cost ~17K of its ~225K (callgrind, issue 15). The builder
:func:`builder` returns stores the values in the slots directly (``_speedups.new_slotted``),
for classes whose ``__init__`` does nothing else (no defaults left out, no
``__post_init__``); without the extension it is the class itself. tests/core/test_slots.py
compares the two.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import partial
from typing import TypeVar

from nlp_service.core.speedups import new_slotted, slot_offsets

T = TypeVar("T")


def builder(cls: type[T]) -> Callable[..., T]:
    """A positional constructor for the frozen slotted dataclass ``cls``: every field, in
    order, as ``cls(*values)`` takes them."""
    if not (dataclasses.is_dataclass(cls) and "__slots__" in cls.__dict__) or hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} is not a slotted dataclass without __post_init__")
    if new_slotted is None:
        return cls
    names = tuple(f.name for f in dataclasses.fields(cls))
    return partial(new_slotted, cls, slot_offsets(cls, names))


def tuple_builder(cls: type[T]) -> Callable[[tuple], T]:
    """``cls(*values)`` for the NamedTuple ``cls``, taking the values as one tuple: what its
    Python-level ``__new__`` ends in (``tuple.__new__``) without that call (~1.4K
    instructions a tuple, callgrind). No field may be left to a default."""
    if not (issubclass(cls, tuple) and hasattr(cls, "_fields")):
        raise TypeError(f"{cls.__name__} is not a NamedTuple")
    return partial(tuple.__new__, cls)
