"""The example layers of ``docs/custom-layers.md`` (Linear, PReLU, LayerNorm, Centering,
GatedLinear) pass ``check_layer``. They are taken from the page itself: every Python block
that defines a direct ``lk.Layer`` subclass is self-contained and is run here."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import layerkit as lk
from layerkit.testing import check_layer

PAGE = Path(__file__).resolve().parent.parent / "docs" / "custom-layers.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _page_layers():
    layers = {}
    for code in BLOCK.findall(PAGE.read_text(encoding="utf-8")):
        if not re.search(r"^class \w+\(lk\.Layer\):", code, re.MULTILINE):
            continue
        namespace: dict = {}
        exec(compile(code, str(PAGE), "exec"), namespace)  # the block alone: self-contained
        for value in namespace.values():
            if isinstance(value, type) and issubclass(value, lk.Layer) and value is not lk.Layer:
                layers[value.__name__] = value
    return layers


LAYERS = _page_layers()
CASES = {
    "Linear": (lambda: LAYERS["Linear"](3), (5,)),
    "PReLU": (lambda: LAYERS["PReLU"](), (4,)),
    "LayerNorm": (lambda: LAYERS["LayerNorm"](), (4,)),
    "Centering": (lambda: LAYERS["Centering"](momentum=0.8), (3,)),
    "GatedLinear": (lambda: LAYERS["GatedLinear"](3), (4,)),
}


def test_the_page_defines_the_four_example_layers_and_linear():
    assert sorted(LAYERS) == sorted(CASES)


@pytest.mark.parametrize(
    "name",
    [name for name in sorted(CASES)],
)
def test_example_layer_passes_check_layer(name):
    factory, shape = CASES[name]
    report = check_layer(factory, shape)
    assert report, report.explain()


def test_stateful_example_passes_every_check_but_save_load_on_mains_io():
    factory, shape = CASES["Centering"]
    report = check_layer(factory, shape)
    assert [c.name for c in report.failures()] in ([], ["save/load"]), report.explain()


def test_prelu_reports_its_kink_and_layer_norm_normalises_rows():
    prelu = LAYERS["PReLU"]()
    report = lk.gradcheck(prelu, np.array([[-1.0, 0.0, 2.0]]))
    assert report and report.n_kinks == 1
    norm = LAYERS["LayerNorm"]()
    net = lk.Network([lk.Input(4), norm], loss="mse", dtype="float64")
    y = net.predict(np.random.default_rng(0).normal(3.0, 2.0, (5, 4)))
    np.testing.assert_allclose(y.mean(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=1), 1.0, rtol=1e-4)  # eps = 1e-5 in the variance
