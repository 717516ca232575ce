"""Sample submissions of 04_relu_variants: classic bugs and cheats (format: README.md).

Generic samples (unanswered, crash, infinite loop, ...) are added automatically.
"""

SAMPLES = [
    {
        "student": "bug_leaky_fixed_slope",
        "description": "leaky_relu ignores negative_slope and always uses 0.1",
        "score": 10,
        "fails": ["test_leaky_relu"],
        "edits": [{"sub": "leaky_relu", "old": "negative_slope * x", "new": "0.1 * x"}],
    },
    {
        "student": "bug_prelu_broadcast",
        "description": "prelu multiplies by weight as it is, broadcasting on the last axis",
        "score": 9,
        "fails": ["test_prelu"],
        "edits": [{"sub": "prelu", "old": "return np.where(x > 0, x, slope * x)",
                   "new": "return np.where(x > 0, x, weight * x)"}],
    },
    {
        "student": "bug_prelu_backward_sum",
        "description": "prelu_backward always sums dweight over everything, even per channel",
        "score": 8,
        "fails": ["test_prelu_backward"],
        "edits": [{"sub": "prelu_backward", "old": "if weight.shape[0] == 1:",
                   "new": "if True:"}],
    },
    {
        "student": "bug_rrelu_eval_random",
        "description": "rrelu samples random slopes in evaluation mode too",
        "score": 9,
        "fails": ["test_rrelu"],
        "edits": [{"sub": "rrelu", "old": "if not training:", "new": "if False:"}],
    },
    {
        "student": "bug_elu_overflow",
        "description": "elu as alpha * (np.exp(x) - 1) on every x: overflows for large x",
        "score": 10,
        "fails": ["test_elu"],
        "edits": [{"replace": "elu", "source":
                   "def elu(x, alpha=1.0):\n"
                   "    return np.where(x > 0, x, alpha * (np.exp(x) - 1))\n"}],
    },
    {
        "student": "bug_elu_grad_alpha",
        "description": "elu_grad forgets alpha on the negative side",
        "score": 9,
        "fails": ["test_elu_grad"],
        "edits": [{"sub": "elu_grad", "old": "alpha * np.exp(", "new": "np.exp("}],
    },
    {
        "student": "torch_leaky_relu",
        "description": "leaky_relu delegates to torch.nn.functional.leaky_relu",
        "score": 10,
        "fails": ["test_leaky_relu"],
        "edits": [{"replace": "leaky_relu", "source":
                   "import torch\n\n\n"
                   "def leaky_relu(x, negative_slope=0.01):\n"
                   "    t = torch.nn.functional.leaky_relu(torch.from_numpy(x), negative_slope)\n"
                   "    return t.numpy()\n"}],
    },
]
