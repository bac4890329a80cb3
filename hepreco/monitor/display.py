"""This module defines Display: an event display a detector plugin registers (hook ``hepreco_displays``) for the
Monitor's page, which knows no detector."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Display", "find_product", "render_display"]


@dataclass(frozen=True)
class Display:
    """An event display: which product it draws and the function that turns one event of it into a figure.

    Attributes:
        name: a unique name, ``<plugin>.<view>`` (``comet.xy``).
        title: the heading on the page.
        render: ``(value) -> dict``, or ``"package.module:function"`` (imported on the first event drawn, so
            that registering the display imports nothing heavy). ``value`` is the product's entry for one event
            (an awkward record list, or a numpy array for an image product). It returns
            ``{"kind": "scatter", "panels": [{"title", "x", "y", "c", "xlabel", "ylabel"}, ...]}`` (lists of
            numbers; ``c`` colours the points) or ``{"kind": "image", "image": 2-D array, "xlabel", "ylabel",
            "extent": [x0, x1, y0, y1]}``.
        fields: the record fields a jagged product must have to be drawn (``("wire", "edep")``); the Monitor
            draws the first product of the batch that has them all.
        product: instead of ``fields``, the product's name (``adc_W``: an image per event), under any label.

    Examples:
        >>> d = Display("toy.xy", "hits in x-y", render=lambda hits: {"kind": "scatter", "panels": []}, fields=("x", "y"))
        >>> d.name
        'toy.xy'
    """

    name: str
    title: str
    render: Callable[[Any], dict[str, Any]] | str
    fields: tuple[str, ...] = field(default_factory=tuple)
    product: str | None = None

    def __post_init__(self) -> None:
        if not self.fields and not self.product:
            msg = f"display '{self.name}': give the fields of the product it draws, or the product's name"
            raise ValueError(msg)

    def renderer(self) -> Callable[[Any], dict[str, Any]]:
        """The render function (imported now if given by name)."""
        from hepreco.commands import resolve

        fn: Callable[[Any], dict[str, Any]] = resolve(self.render)
        return fn


def _fields_of(arr: Any) -> tuple[str, ...]:
    try:
        return tuple(arr.fields)
    except AttributeError:
        return ()


def find_product(display: Display, products: dict[str, Any]) -> str | None:
    """The tag (``label:name``) of the first product in ``products`` that ``display`` draws; None if none."""
    for tag, arr in products.items():
        name = tag.split(":", 1)[-1]
        if display.product is not None:
            if name == display.product:
                return tag
        elif set(display.fields) <= set(_fields_of(arr)):
            return tag
    return None


def render_display(display: Display, products: dict[str, Any], index: int = 0) -> dict[str, Any] | None:
    """``display`` of event ``index`` of a batch's ``products`` (``{tag: array}``); None if no product fits."""
    tag = find_product(display, products)
    if tag is None:
        return None
    arr = products[tag]
    if index >= len(arr):
        return None
    value = arr[index]
    if display.product is not None:
        import awkward as ak
        import numpy as np

        value = np.asarray(ak.to_numpy(value) if isinstance(value, ak.Array) else value)
    out = dict(display.renderer()(value))
    out.setdefault("product", tag)
    return out
