import awkward as ak
import numpy as np
import pytest

from hepreco import EventIDs, Events, ProductNotFound
from hepreco.core.events import ProductStore


def make_store(n=5):
    ids = EventIDs(np.ones(n, np.uint32), np.zeros(n, np.uint32), np.arange(1, n + 1, dtype=np.uint64))
    return ProductStore(ids)


def test_put_and_get_full_batch():
    store = make_store()
    ev = Events(store, label="m", produces=("", "jag"))
    ev.put("", np.arange(5.0))
    ev.put("jag", ak.Array([[1], [], [2, 3], [], [4]]))
    reader = Events(store)
    assert reader["m"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert reader["m:jag"].tolist() == [[1], [], [2, 3], [], [4]]
    assert len(reader) == 5 and reader.event.tolist() == [1, 2, 3, 4, 5]
    assert set(reader.products()) == {"m", "m:jag"}
    assert "m:jag" in reader and "m:nope" not in reader


def test_multidimensional_numpy_becomes_regular():
    store = make_store(3)
    Events(store, label="img", produces=("",)).put("", np.zeros((3, 4, 2)))
    arr = Events(store)["img"]
    assert str(ak.type(arr)) == "3 * 4 * 2 * float64"


def test_put_rules():
    store = make_store()
    ev = Events(store, label="m", produces=("a",))
    with pytest.raises(ValueError, match="own label 'm'"):
        ev.put("other:a", np.zeros(5))
    with pytest.raises(ValueError, match="undeclared product 'b'"):
        ev.put("b", np.zeros(5))
    with pytest.raises(ValueError, match="has 4 entries but the batch has 5 events"):
        ev.put("a", np.zeros(4))
    ev.put("a", np.zeros(5))
    with pytest.raises(ValueError, match="immutable"):
        ev.put("a", np.ones(5))
    with pytest.raises(PermissionError):
        Events(store).put("a", np.zeros(5))


def test_missing_product_lists_available():
    store = make_store()
    Events(store, label="hits", produces=("",)).put("", np.zeros(5))
    with pytest.raises(ProductNotFound, match=r"no product 'hit'.*did you mean 'hits'"):
        Events(store)["hit"]


def test_missing_field_names_fields():
    store = make_store(2)
    Events(store, label="h", produces=("",)).put("", ak.Array([{"x": 1, "y": 2}, {"x": 3, "y": 4}]))
    assert Events(store)["h.x"].tolist() == [1, 3]
    with pytest.raises(KeyError, match=r"has no field 'z' \(fields: x, y\)"):
        Events(store)["h.z"]


def test_subset_products_read_as_option_type():
    store = make_store(6)
    sub = np.array([1, 3, 4])
    Events(store, sub, label="p", produces=("",)).put("", np.array([10.0, 30.0, 40.0]))
    # the whole batch sees None where the product was not made
    assert Events(store)["p"].tolist() == [None, 10.0, None, 30.0, 40.0, None]
    # a view inside the subset sees plain values, no option type
    inner = Events(store, np.array([3, 4]))["p"]
    assert inner.tolist() == [30.0, 40.0]
    assert "?" not in str(ak.type(inner))
    # a view partly outside sees None there
    assert Events(store, np.array([0, 1]))["p"].tolist() == [None, 10.0]
    # ids follow the view
    assert Events(store, sub).event.tolist() == [2, 4, 5]


def test_plain_products_are_the_arrays_awkward_builds():
    # the fast wrapper of flat numeric products (every put, every filtered read) makes the same ak.Array
    # that awkward's constructor makes, and a filtered read of one equals awkward's own take
    import awkward as ak
    import numpy as np

    from hepreco.core import events as ev

    for data in (np.arange(7.0), np.arange(7, dtype=np.int32), np.array([True, False] * 3)):
        fast, slow = ev.wrap_plain(data), ak.Array(ak.contents.NumpyArray(data))
        assert type(fast) is type(slow) and fast.type == slow.type and fast.tolist() == slow.tolist()
        assert {k: v for k, v in vars(fast).items() if k != "_layout"} == {
            k: v for k, v in vars(slow).items() if k != "_layout"
        }
        assert ak.sum(fast * 2) == ak.sum(slow * 2) and fast[fast > 2].tolist() == slow[slow > 2].tolist()
        view = np.array([0, 3, 5])
        assert ev._take_plain(fast, view).tolist() == slow[view].tolist()
    # anything but a plain NumpyArray goes through awkward
    assert ev._take_plain(ak.Array([[1.0], [], [2.0]]), np.array([0, 2])) is None
    named = ak.with_parameter(ak.Array(np.arange(3.0)), "__doc__", "x")
    assert ev._take_plain(named, np.array([0])) is None


def test_plain_wrapper_falls_back_to_the_constructor(monkeypatch):
    import numpy as np

    from hepreco.core import events as ev

    monkeypatch.setattr(ev, "_PLAIN", None)  # an awkward that builds its arrays otherwise
    assert ev.wrap_plain(np.arange(3.0)).tolist() == [0.0, 1.0, 2.0]
