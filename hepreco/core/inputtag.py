"""This module defines InputTag, the name of a product: ``label``, ``label:instance``, plus optional fields."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["InputTag"]

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_TAG_RE = re.compile(rf"^(?P<label>{_NAME})(?::(?P<instance>{_NAME}))?(?P<fields>(?:\.{_NAME})*)$")
LABEL_RE = re.compile(rf"^{_NAME}$")


class InputTag:
    """The name of a product: the label of the module that made it, an optional instance name,
    and an optional path of record fields to read from it.

    Written ``"label"``, ``"label:instance"`` or ``"label:instance.field.subfield"`` in configs.
    Labels and instance names are identifiers, so the dot is never ambiguous.

    Args:
        label: the module label (or the source's label) that put the product.
        instance: the instance name the product was put under (``""`` = the label itself).
        fields: record fields to project, outermost first.

    Examples:
        >>> InputTag("source:hits.edep")
        InputTag('source:hits.edep')
        >>> t = InputTag.parse("imager:image")
        >>> t.label, t.instance, t.fields
        ('imager', 'image', ())
        >>> InputTag("hitid").product
        'hitid'
    """

    __slots__ = ("_fields", "_instance", "_label")

    def __init__(self, label: str | InputTag, instance: str = "", fields: tuple[str, ...] = ()) -> None:
        if isinstance(label, InputTag):
            tag = label
            label, instance, fields = tag.label, tag.instance, tag.fields
        elif ":" in label or "." in label:
            if instance or fields:
                msg = f"InputTag({label!r}, ...): give either a full tag string or separate parts"
                raise ValueError(msg)
            parsed = InputTag.parse(label)
            label, instance, fields = parsed.label, parsed.instance, parsed.fields
        if not LABEL_RE.match(label):
            msg = f"invalid InputTag label {label!r}: a label is an identifier (letters, digits, '_')"
            raise ValueError(msg)
        if instance and not LABEL_RE.match(instance):
            msg = f"invalid InputTag instance {instance!r}: an instance name is an identifier"
            raise ValueError(msg)
        self._label = label
        self._instance = instance
        self._fields = tuple(fields)

    @classmethod
    def parse(cls, text: str | InputTag) -> InputTag:
        """Parse ``"label[:instance][.field...]"``; raises ValueError with the accepted forms."""
        if isinstance(text, InputTag):
            return text
        if not isinstance(text, str):
            msg = f"an InputTag is a string 'label' or 'label:instance', not {type(text).__name__} {text!r}"
            raise ValueError(msg)
        m = _TAG_RE.match(text.strip())
        if not m:
            msg = (
                f"invalid InputTag {text!r}: expected 'label', 'label:instance' or "
                "'label:instance.field' (identifiers separated by ':' and '.')"
            )
            raise ValueError(msg)
        fields = tuple(f for f in m.group("fields").split(".") if f)
        tag = cls.__new__(cls)
        tag._label = m.group("label")
        tag._instance = m.group("instance") or ""
        tag._fields = fields
        return tag

    @property
    def label(self) -> str:
        return self._label

    @property
    def instance(self) -> str:
        return self._instance

    @property
    def fields(self) -> tuple[str, ...]:
        return self._fields

    @property
    def product(self) -> str:
        """The product's name without fields: ``label`` or ``label:instance``."""
        return f"{self._label}:{self._instance}" if self._instance else self._label

    @property
    def key(self) -> tuple[str, str]:
        """``(label, instance)``: the product this tag reads."""
        return (self._label, self._instance)

    def with_fields(self, *fields: str) -> InputTag:
        return InputTag(self._label, self._instance, self._fields + tuple(fields))

    def __str__(self) -> str:
        return self.product + "".join("." + f for f in self._fields)

    def __repr__(self) -> str:
        return f"InputTag({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            try:
                other = InputTag.parse(other)
            except ValueError:
                return False
        if not isinstance(other, InputTag):
            return NotImplemented
        return (self._label, self._instance, self._fields) == (other._label, other._instance, other._fields)

    def __hash__(self) -> int:
        return hash((self._label, self._instance, self._fields))

    def __reduce__(self) -> tuple[Any, ...]:
        return (InputTag.parse, (str(self),))

    # pydantic v2 integration: InputTag fields accept strings and serialise as strings.
    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        def validate(value: Any) -> InputTag:
            return cls.parse(value)

        return core_schema.no_info_plain_validator_function(
            validate,
            json_schema_input_schema=core_schema.str_schema(),
            serialization=core_schema.plain_serializer_function_ser_schema(str),
        )

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict[str, Any]:
        return {"type": "string", "format": "inputtag"}
