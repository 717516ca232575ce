"""Sample submissions of 01_why_nonlinearity: classic bugs and cheats (format: README.md).

Generic samples (unanswered, crash, infinite loop, ...) are added automatically.
"""

SAMPLES = [
    {
        "student": "bug_collapse_order",
        "description": "collapse_linear multiplies in the wrong order (W @ W_i)",
        "score": 3,
        "fails": ["test_collapse_linear"],
        "edits": [{"sub": "collapse_linear", "old": "W = W_i @ W", "new": "W = W @ W_i"}],
    },
    {
        "student": "bug_collapse_bias",
        "description": "collapse_linear keeps only the last bias",
        "score": 3,
        "fails": ["test_collapse_linear"],
        "edits": [{"sub": "collapse_linear", "old": "b = W_i @ b + b_i", "new": "b = b_i"}],
    },
    {
        "student": "bug_xor_is_or",
        "description": "xor_relu_weights computes OR: h1 - h2 instead of h1 - 2 h2",
        "score": 4,
        "fails": ["test_xor_relu_weights"],
        "edits": [{"sub": "xor_relu_weights", "old": "np.array([[1.0, -2.0]])",
                   "new": "np.array([[1.0, -1.0]])"}],
    },
    {
        "student": "bug_pieces_off_by_one",
        "description": "count_linear_pieces returns the number of kinks, not of pieces",
        "score": 3,
        "fails": ["test_count_linear_pieces"],
        "edits": [{"sub": "count_linear_pieces", "old": "return kinks + 1",
                   "new": "return kinks"}],
    },
    {
        "student": "torch_collapse",
        "description": "collapse_linear does the products in torch",
        "score": 3,
        "fails": ["test_collapse_linear"],
        "edits": [{"replace": "collapse_linear", "source":
                   "import torch\n\n\n"
                   "def collapse_linear(weights, biases):\n"
                   "    W, b = torch.from_numpy(weights[0]), torch.from_numpy(biases[0])\n"
                   "    for W_i, b_i in zip(weights[1:], biases[1:]):\n"
                   "        W_i = torch.from_numpy(W_i)\n"
                   "        W, b = W_i @ W, W_i @ b + torch.from_numpy(b_i)\n"
                   "    return W.numpy(), b.numpy()\n"}],
    },
]
