import pickle

import pytest
from pydantic import BaseModel

from hepreco import InputTag


@pytest.mark.parametrize(
    ("text", "label", "instance", "fields"),
    [
        ("hitid", "hitid", "", ()),
        ("source:hits", "source", "hits", ()),
        ("source:hits.edep", "source", "hits", ("edep",)),
        ("dimuon.mass", "dimuon", "", ("mass",)),
        ("a:b.c.d", "a", "b", ("c", "d")),
    ],
)
def test_parse(text, label, instance, fields):
    tag = InputTag.parse(text)
    assert (tag.label, tag.instance, tag.fields) == (label, instance, fields)
    assert str(tag) == text
    assert InputTag(text) == tag == text
    assert hash(tag) == hash(InputTag(text))


@pytest.mark.parametrize("bad", ["", "a:", ":b", "a:b:c", "1abc", "a b", "a..b", "a:b."])
def test_invalid_tags_are_errors(bad):
    with pytest.raises(ValueError, match="invalid InputTag"):
        InputTag.parse(bad)


def test_parts_and_product():
    tag = InputTag("imager", "image")
    assert tag.product == "imager:image"
    assert tag.key == ("imager", "image")
    assert tag.with_fields("x").fields == ("x",)
    assert pickle.loads(pickle.dumps(tag)) == tag


def test_pydantic_field_accepts_strings():
    class C(BaseModel):
        t: InputTag
        ts: list[InputTag] = []

    c = C(t="source:hits", ts=["a", "b:c"])
    assert c.t == InputTag("source", "hits")
    assert c.model_dump() == {"t": "source:hits", "ts": ["a", "b:c"]}
    with pytest.raises(ValueError, match="invalid InputTag"):
        C(t="no good")
