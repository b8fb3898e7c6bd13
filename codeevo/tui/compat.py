"""The few Textual APIs whose spelling changed across the versions we support.

``Select``'s "nothing selected" value was ``Select.BLANK`` until Textual 0.86 and is
``Select.NULL`` since (``Select.BLANK`` became ``False``, an ordinary value). Code here never
names either: a Select is built without ``value=`` when nothing is chosen, and read through
``chosen``.
"""

from __future__ import annotations

from typing import Any, TypeVar

from textual.widgets import Select

T = TypeVar("T")


def chosen(select: Select[T]) -> T | None:
    """The selected value, or None when nothing is selected."""
    return None if select.is_blank() else select.value  # type: ignore[return-value]


def select_kwargs(value: Any) -> dict[str, Any]:
    """``value=`` for a new Select only when there is one (None: nothing selected)."""
    return {} if value is None else {"value": value}
