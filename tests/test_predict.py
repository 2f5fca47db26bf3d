"""digitnet.predict beyond the CLI: the hidden activations the draw page shows."""

from __future__ import annotations

import numpy as np

from digitnet.nn import build_mlp
from digitnet.predict import hidden_vector, predict_image28


def test_hidden_vector_is_the_first_hidden_layer_by_hand(mnist):
    model = build_mlp((784, 16, 10), activation="relu", rng=np.random.default_rng(0))
    image28 = mnist.test_images[0] / 255.0
    dense = model.layers[0]
    expected = np.maximum(image28.reshape(1, 784) @ dense.params["W"] + dense.params["b"], 0)
    hidden = hidden_vector(model, predict_image28(model, image28).input28)
    np.testing.assert_allclose(hidden, expected[0], rtol=1e-5, atol=1e-6)
    assert hidden.dtype == np.float64 and (hidden > 0).any()


def test_a_network_without_a_hidden_layer_has_no_hidden_vector(mnist):
    model = build_mlp((784, 10), activation="relu", rng=np.random.default_rng(0))
    assert hidden_vector(model, mnist.test_images[0] / 255.0) is None
