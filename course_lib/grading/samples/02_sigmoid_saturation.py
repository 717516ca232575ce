"""Sample submissions of 02_sigmoid_saturation: classic bugs and cheats (format: README.md).

Generic samples (unanswered, crash, infinite loop, ...) are added automatically.
"""

import numpy as np

# sigmoid_grad's solution calls the student's sigmoid: a broken sigmoid breaks both.
DEPENDS = {"sigmoid_grad": ["sigmoid"]}


def _visible_xavier_table() -> str:
    """The values the visible check of xavier_std asks for, as a cheater would copy them."""
    cases = [(100, 100, 1.0), (784, 256, 1.0), (1, 1, 1.0), (64, 64, 5 / 3), (10, 1000, 2.0)]
    rng = np.random.default_rng(0)
    for _ in range(5):
        fan_in, fan_out = (int(v) for v in rng.integers(1, 5000, size=2))
        cases.append((fan_in, fan_out, float(rng.uniform(0.1, 3.0))))
    rows = "".join(f"    ({a}, {b}, {g!r}): {g * (2.0 / (a + b)) ** 0.5!r},\n"
                   for a, b, g in cases)
    return (
        "KNOWN = {\n" + rows + "}\n\n\n"
        "def xavier_std(fan_in, fan_out, gain=1.0):\n"
        "    return KNOWN.get((fan_in, fan_out, gain), 0.05)\n"
    )


SAMPLES = [
    {
        "student": "bug_sigmoid_naive",
        "description": "sigmoid as 1 / (1 + np.exp(-x)): overflows for very negative x "
                       "(sigmoid_grad, which calls it, fails too)",
        "score": 3,
        "fails": ["test_sigmoid", "test_sigmoid_grad"],
        "edits": [{"replace": "sigmoid", "source":
                   "def sigmoid(x):\n    return 1 / (1 + np.exp(-x))\n"}],
    },
    {
        "student": "bug_sigmoid_where_overflow",
        "description": "sigmoid with np.where whose branches both overflow: np.where "
                       "computes np.exp(-x) and np.exp(x) for every element",
        "score": 3,
        "fails": ["test_sigmoid", "test_sigmoid_grad"],
        "edits": [{"replace": "sigmoid", "source":
                   "def sigmoid(x):\n"
                   "    return np.where(x >= 0, 1 / (1 + np.exp(-x)), "
                   "np.exp(x) / (1 + np.exp(x)))\n"}],
    },
    {
        "student": "bug_sigmoid_clip",
        "description": "sigmoid clips x to [-500, 500]: safe in float64, still overflows "
                       "in float32 (exp(500) > 3.4e38)",
        "score": 3,
        "fails": ["test_sigmoid", "test_sigmoid_grad"],
        "edits": [{"replace": "sigmoid", "source":
                   "def sigmoid(x):\n"
                   "    x = np.clip(x, -500, 500)\n"
                   "    return 1 / (1 + np.exp(-x))\n"}],
    },
    {
        "student": "bug_sigmoid_float64",
        "description": "sigmoid turns float32 into float64 (an np.float64 constant)",
        "score": 3,
        "fails": ["test_sigmoid", "test_sigmoid_grad"],
        "edits": [{"replace": "sigmoid", "source":
                   "def sigmoid(x):\n"
                   "    one = np.float64(1.0)\n"
                   "    z = np.exp(-np.abs(x))\n"
                   "    return np.where(x >= 0, one / (one + z), z / (one + z))\n"}],
    },
    {
        "student": "bug_sigmoid_in_place",
        "description": "sigmoid writes its result into its input array",
        "score": 3,
        "fails": ["test_sigmoid", "test_sigmoid_grad"],
        "edits": [{"replace": "sigmoid", "source":
                   "def sigmoid(x):\n"
                   "    z = np.exp(-np.abs(x))\n"
                   "    x[:] = np.where(x >= 0, 1 / (1 + z), z / (1 + z))\n"
                   "    return x\n"}],
    },
    {
        "student": "bug_sigmoid_grad_overflow",
        "description": "sigmoid_grad as exp(-x) / (1 + exp(-x))**2: overflows for x << 0",
        "score": 5,
        "fails": ["test_sigmoid_grad"],
        "edits": [{"replace": "sigmoid_grad", "source":
                   "def sigmoid_grad(x):\n"
                   "    return np.exp(-x) / (1 + np.exp(-x)) ** 2\n"}],
    },
    {
        "student": "bug_tanh_grad_textbook_tanh",
        "description": "tanh_grad from the textbook formula of tanh: inf / inf is nan",
        "score": 5,
        "fails": ["test_tanh_grad"],
        "edits": [{"replace": "tanh_grad", "source":
                   "def tanh_grad(x):\n"
                   "    t = (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))\n"
                   "    return 1 - t * t\n"}],
    },
    {
        "student": "bug_xavier_variance",
        "description": "xavier_std returns the variance 2 / (fan_in + fan_out)",
        "score": 4,
        "fails": ["test_xavier_std"],
        "edits": [{"replace": "xavier_std", "source":
                   "def xavier_std(fan_in, fan_out, gain=1.0):\n"
                   "    return gain * 2.0 / (fan_in + fan_out)\n"}],
    },
    {
        "student": "bug_xavier_gain_inside_sqrt",
        "description": "xavier_std puts the gain inside the square root",
        "score": 4,
        "fails": ["test_xavier_std"],
        "edits": [{"replace": "xavier_std", "source":
                   "def xavier_std(fan_in, fan_out, gain=1.0):\n"
                   "    return math.sqrt(gain * 2.0 / (fan_in + fan_out))\n"}],
    },
    {
        "student": "bug_sigmoid_grad",
        "description": "sigmoid_grad written as s * (1 + s)",
        "score": 5,
        "fails": ["test_sigmoid_grad"],
        "edits": [{"replace": "sigmoid_grad", "source":
                   "def sigmoid_grad(x):\n    s = sigmoid(x)\n    return s * (1 + s)\n"}],
    },
    {
        "student": "bug_tanh_grad",
        "description": "tanh_grad written as 1 - tanh(x): the square is missing",
        "score": 5,
        "fails": ["test_tanh_grad"],
        "edits": [{"replace": "tanh_grad", "source":
                   "def tanh_grad(x):\n    return 1 - np.tanh(x)\n"}],
    },
    {
        "student": "bug_xavier_std",
        "description": "xavier_std as LeCun's sqrt(1 / fan_in), ignoring fan_out",
        "score": 4,
        "fails": ["test_xavier_std"],
        "edits": [{"replace": "xavier_std", "source":
                   "def xavier_std(fan_in, fan_out, gain=1.0):\n"
                   "    return gain * math.sqrt(1.0 / fan_in)\n"}],
    },
    {
        "student": "hardcoded_xavier",
        "description": "xavier_std looks up the visible check's expected values",
        "score": 4,
        "fails": ["test_xavier_std"],
        "edits": [{"replace": "xavier_std", "source": _visible_xavier_table()}],
    },
    {
        "student": "torch_tanh_grad",
        "description": "tanh_grad delegates to torch.tanh",
        "score": 5,
        "fails": ["test_tanh_grad"],
        "edits": [{"replace": "tanh_grad", "source":
                   "def tanh_grad(x):\n"
                   "    t = torch.tanh(torch.from_numpy(x)).numpy()\n"
                   "    return 1 - t * t\n"}],
    },
]
