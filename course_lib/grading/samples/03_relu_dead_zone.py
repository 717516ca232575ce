"""Sample submissions of 03_relu_dead_zone: classic bugs and cheats (format: README.md).

Generic samples (unanswered, crash, infinite loop, ...) are added automatically.
"""

import numpy as np


def _visible_dead_layer_table() -> str:
    """The (width, depth) cases of the visible check with their answers, as a cheater would
    copy them from the check's messages."""
    cases = [(1, 1), (2, 3), (2, 1), (8, 0), (3, 50), (1, 1000), (100, 10), (2000, 5)]
    rng = np.random.default_rng(0)
    for _ in range(6):
        cases.append((int(rng.integers(1, 41)), int(rng.integers(0, 301))))
    rows = "".join(f"    ({w}, {d}): {1.0 - (1.0 - 0.5**w) ** d!r},\n" for w, d in cases)
    return (
        "KNOWN = {\n" + rows + "}\n\n\n"
        "def dead_layer_probability(width, depth):\n"
        "    return KNOWN.get((width, depth), 0.5)\n"
    )


SAMPLES = [
    {
        "student": "bug_relu_minimum",
        "description": "relu with np.minimum instead of np.maximum",
        "score": 6,
        "fails": ["test_relu"],
        "edits": [{"replace": "relu", "source":
                   "def relu(x):\n    return np.minimum(x, 0.0)\n"}],
    },
    {
        "student": "bug_relu_grad_at_zero",
        "description": "relu_grad is 1 at x == 0 (PyTorch uses 0)",
        "score": 6,
        "fails": ["test_relu_grad"],
        "edits": [{"replace": "relu_grad", "source":
                   "def relu_grad(x):\n    return (x >= 0).astype(x.dtype)\n"}],
    },
    {
        "student": "bug_relu_backward_dout_mask",
        "description": "relu_backward gates the gradient with dout > 0 instead of x > 0",
        "score": 6,
        "fails": ["test_relu_backward"],
        "edits": [{"replace": "relu_backward", "source":
                   "def relu_backward(dout, x):\n    return np.where(dout > 0, dout, 0.0)\n"}],
    },
    {
        "student": "bug_dead_unit_nonzero",
        "description": "dead_unit_fraction counts units that are exactly 0, not never positive "
                       "(~acts.any(axis=0))",
        "score": 5,
        "fails": ["test_dead_unit_fraction"],
        "edits": [{"replace": "dead_unit_fraction", "source":
                   "def dead_unit_fraction(acts):\n"
                   "    return float(np.mean(~acts.any(axis=0)))\n"}],
    },
    {
        "student": "bug_dead_unit_axis",
        "description": "dead_unit_fraction reduces over the units instead of the samples",
        "score": 5,
        "fails": ["test_dead_unit_fraction"],
        "edits": [{"replace": "dead_unit_fraction", "source":
                   "def dead_unit_fraction(acts):\n"
                   "    alive = np.any(acts > 0, axis=1)\n"
                   "    return float(np.mean(~alive))\n"}],
    },
    {
        "student": "bug_dead_unit_values",
        "description": "dead_unit_fraction counts values <= 0 instead of units never positive",
        "score": 5,
        "fails": ["test_dead_unit_fraction"],
        "edits": [{"replace": "dead_unit_fraction", "source":
                   "def dead_unit_fraction(acts):\n"
                   "    return float(np.mean(acts <= 0))\n"}],
    },
    {
        "student": "bug_relu_in_place",
        "description": "relu zeroes the negative entries of its input in place",
        "score": 6,
        "fails": ["test_relu"],
        "edits": [{"replace": "relu", "source":
                   "def relu(x):\n    x[x < 0] = 0\n    return x\n"}],
    },
    {
        "student": "bug_dead_layer_swapped",
        "description": "dead_layer_probability with width and depth swapped",
        "score": 5,
        "fails": ["test_dead_layer_probability"],
        "edits": [{"replace": "dead_layer_probability", "source":
                   "def dead_layer_probability(width, depth):\n"
                   "    return 1.0 - (1.0 - 0.5**depth) ** width\n"}],
    },
    {
        "student": "bug_dead_layer_union_bound",
        "description": "dead_layer_probability as depth * 2**-width (a union bound, not "
                       "the probability)",
        "score": 5,
        "fails": ["test_dead_layer_probability"],
        "edits": [{"replace": "dead_layer_probability", "source":
                   "def dead_layer_probability(width, depth):\n"
                   "    return depth * 0.5**width\n"}],
    },
    {
        "student": "hardcoded_dead_layer",
        "description": "dead_layer_probability looks up the visible check's expected values",
        "score": 5,
        "fails": ["test_dead_layer_probability"],
        "edits": [{"replace": "dead_layer_probability", "source": _visible_dead_layer_table()}],
    },
    {
        "student": "torch_relu",
        "description": "relu delegates to torch.relu",
        "score": 6,
        "fails": ["test_relu"],
        "edits": [{"replace": "relu", "source":
                   "import torch\n\n\n"
                   "def relu(x):\n    return torch.relu(torch.from_numpy(x)).numpy()\n"}],
    },
]
