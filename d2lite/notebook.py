"""Quote computed numbers in a chapter's prose: a `glue` that also works outside the book.

In the book, ``d2lite.glue("acc", 0.912)`` stores the value with myst-nb's ``glue``, and the
text writes ``{glue:text}`acc:.3f```, so the sentence shows the number the code computed.
Where myst-nb is not installed (Colab, a plain Jupyter), the call just returns the value;
the generated Colab notebooks show the book's values in place of the roles.
"""

from __future__ import annotations

from typing import Any

__all__ = ["glue"]


def glue(name: str, value: Any) -> Any:
    """Store `value` under `name` for ``{glue:text}`name``` roles; return `value`.

    Args:
        name: a key made of letters, digits, ``_`` and ``-``, unique within the chapter.
        value: a number or a string (formatted in the text, e.g. ``{glue:text}`acc:.3f```).

    Raises:
        ValueError: if `name` is empty or holds other characters.
    """
    if not isinstance(name, str) or not name or not all(ch.isalnum() or ch in "_-" for ch in name):
        raise ValueError(f"name must be a non-empty string of letters, digits, '_' and '-', got {name!r}")
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        value = value.item()  # NumPy / backend scalars: glue the plain Python number
    try:
        from myst_nb import glue as _myst_glue
    except ImportError:
        return value
    _myst_glue(name, value, display=False)
    return value
