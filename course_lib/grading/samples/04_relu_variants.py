"""Sample submissions of 04_relu_variants: classic bugs and cheats (format: README.md).

Generic samples (unanswered, crash, infinite loop, ...) are added automatically.
"""

# prelu_autograd wraps the student's own prelu and prelu_backward.
DEPENDS = {"prelu_autograd": ["prelu", "prelu_backward"]}

SAMPLES = [
    {
        "student": "bug_leaky_fixed_slope",
        "description": "leaky_relu ignores negative_slope and always uses 0.1",
        "score": 13,
        "fails": ["test_leaky_relu"],
        "edits": [{"sub": "leaky_relu", "old": "negative_slope * x", "new": "0.1 * x"}],
    },
    {
        "student": "bug_prelu_broadcast",
        "description": "prelu multiplies by weight as it is, broadcasting on the last axis",
        "score": 9,
        "fails": ["test_prelu", "test_prelu_autograd"],
        "edits": [{"sub": "prelu", "old": "return np.where(x > 0, x, slope * x)",
                   "new": "return np.where(x > 0, x, weight * x)"}],
    },
    {
        "student": "bug_prelu_backward_sum",
        "description": "prelu_backward always sums dweight over everything, even per channel",
        "score": 8,
        "fails": ["test_prelu_backward", "test_prelu_autograd"],
        "edits": [{"sub": "prelu_backward", "old": "if weight.shape[0] == 1:",
                   "new": "if True:"}],
    },
    {
        "student": "bug_prelu_backward_hard_coded_axes",
        "description": "prelu_backward sums dweight over a hard-coded axis=(0, 2, 3)",
        "score": 8,
        "fails": ["test_prelu_backward", "test_prelu_autograd"],
        "edits": [{"sub": "prelu_backward", "old": "dweight = terms.sum(axis=axes)",
                   "new": "dweight = terms.sum(axis=(0, 2, 3))"}],
    },
    {
        "student": "bug_prelu_autograd_ignores_grad_output",
        "description": "prelu_autograd's backward passes ones to prelu_backward instead of "
                       "grad_output",
        "score": 11,
        "fails": ["test_prelu_autograd"],
        "edits": [{"sub": "prelu_autograd", "old": "prelu_backward(grad_output.detach().numpy(),",
                   "new": "prelu_backward(np.ones_like(x.detach().numpy()),"}],
    },
    {
        "student": "torch_prelu_autograd",
        "description": "prelu_autograd returns torch.nn.functional.prelu: autograd, not the "
                       "student's backward, computes the gradients",
        "score": 11,
        "fails": ["test_prelu_autograd"],
        "edits": [{"replace": "prelu_autograd", "source":
                   "def prelu_autograd(x, weight):\n"
                   "    return torch.nn.functional.prelu(x, weight)\n"}],
    },
    {
        "student": "bug_rrelu_eval_random",
        "description": "rrelu samples random slopes in evaluation mode too",
        "score": 12,
        "fails": ["test_rrelu"],
        "edits": [{"sub": "rrelu", "old": "if not training:", "new": "if False:"}],
    },
    {
        "student": "bug_elu_overflow",
        "description": "elu as alpha * (np.exp(x) - 1) on every x: overflows for large x",
        "score": 13,
        "fails": ["test_elu"],
        "edits": [{"replace": "elu", "source":
                   "def elu(x, alpha=1.0):\n"
                   "    return np.where(x > 0, x, alpha * (np.exp(x) - 1))\n"}],
    },
    {
        "student": "bug_elu_grad_alpha",
        "description": "elu_grad forgets alpha on the negative side",
        "score": 12,
        "fails": ["test_elu_grad"],
        "edits": [{"sub": "elu_grad", "old": "alpha * np.exp(", "new": "np.exp("}],
    },
    {
        "student": "torch_leaky_relu",
        "description": "leaky_relu delegates to torch.nn.functional.leaky_relu",
        "score": 13,
        "fails": ["test_leaky_relu"],
        "edits": [{"replace": "leaky_relu", "source":
                   "import torch\n\n\n"
                   "def leaky_relu(x, negative_slope=0.01):\n"
                   "    t = torch.nn.functional.leaky_relu(torch.from_numpy(x), negative_slope)\n"
                   "    return t.numpy()\n"}],
    },
]
