"""Input descriptions and their preprocessing: fitting, applying, comparing, shape checks."""

import numpy as np
import pytest

from hepreco.ml import InputSpec, Preprocessing


def test_standardize_per_channel_of_an_image():
    rng = np.random.default_rng(1)
    x = rng.normal([[[5.0]], [[-3.0]]], [[[2.0]], [[0.5]]], size=(500, 2, 4, 4))
    spec = InputSpec(shape=(2, 4, 4), transforms=[{"op": "standardize", "axis": 0}])
    assert not spec.fitted
    fitted = spec.fit(x)
    assert fitted.fitted and len(fitted.transforms[0].mean) == 2
    y = fitted.apply(x)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(y.std(axis=(0, 2, 3)), 1, atol=1e-4)


def test_chain_and_global_standardize():
    spec = InputSpec(
        shape=(3,),
        dtype="float64",
        transforms=[
            {"op": "clip", "min": 0},
            {"op": "log1p"},
            {"op": "scale", "factor": 2},
            {"op": "shift", "offset": -1},
            {"op": "standardize"},
        ],
    )
    x = np.array([[-1.0, 0.0, np.e - 1], [1.0, 2.0, 3.0]])
    fitted = spec.fit(x)
    manual = 2 * np.log1p(np.clip(x, 0, None)) - 1
    np.testing.assert_allclose(fitted.apply(x), (manual - manual.mean()) / manual.std())
    assert "clip(min=0.0, max=None) -> log1p -> scale(factor=2.0)" in spec.describe()


def test_unfitted_standardize_refuses_to_apply():
    with pytest.raises(ValueError, match="has not been fitted"):
        InputSpec(shape=(1,), transforms=[{"op": "standardize"}]).apply(np.zeros((2, 1)))


def test_shapes_are_checked_with_both_named():
    pre = Preprocessing(inputs={"image": InputSpec(shape=(2, None, 71))})
    pre.check({"image": np.zeros((5, 2, 30, 71))})
    with pytest.raises(
        ValueError, match=r"input 'image': expected per-example shape \(2, any, 71\), found \(2, 71, 70\)"
    ):
        pre.check({"image": np.zeros((5, 2, 71, 70))})
    with pytest.raises(ValueError, match="missing image; unexpected img"):
        pre.check({"img": np.zeros((5, 2, 71, 71))})


def test_differences_ignore_fitted_values_but_not_the_recipe():
    spec = Preprocessing(inputs={"x": InputSpec(shape=(2,), transforms=[{"op": "standardize", "axis": 0}])})
    fitted = spec.fit({"x": np.array([[1.0, 2.0], [3.0, 5.0]])})
    assert spec.differences(fitted) == []
    other = Preprocessing(inputs={"x": InputSpec(shape=(2,), transforms=[{"op": "log1p"}])})
    (diff,) = spec.differences(other)
    assert diff == "input 'x': expected (2,) float32 standardize(axis=0), found (2,) float32 log1p"
    assert Preprocessing.coerce({"x": {"shape": [2]}}).inputs["x"].shape == (2,)
