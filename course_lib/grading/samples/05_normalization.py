"""Sample submissions of 05_normalization: classic bugs and cheats (format: README.md).

Generic samples (unanswered, crash, infinite loop, ...) are added automatically.
"""

SAMPLES = [
    {
        "student": "bug_bn_running_var_biased",
        "description": "batch_norm updates the running variance with the biased variance",
        "score": 13,
        "fails": ["test_batch_norm"],
        "edits": [{"sub": "batch_norm", "old": "momentum * var * m / (m - 1)",
                   "new": "momentum * var"}],
    },
    {
        "student": "bug_bn_backward_shortcut",
        "description": "batch_norm_backward ignores how the mean and variance depend on x",
        "score": 13,
        "fails": ["test_batch_norm_backward"],
        "edits": [{"sub": "batch_norm_backward",
                   "old": "dx = (dx_hat - dx_hat.mean(axis=axes, keepdims=True)\n"
                          "          - x_hat * (dx_hat * x_hat).mean(axis=axes, keepdims=True)"
                          ") / std",
                   "new": "dx = dx_hat / std"}],
    },
    {
        "student": "bug_layer_norm_batch_axis",
        "description": "layer_norm normalizes over the batch axis instead of the features",
        "score": 15,
        "fails": ["test_layer_norm"],
        "edits": [{"sub": "layer_norm", "old": "axes = tuple(range(1, x.ndim))",
                   "new": "axes = (0,)"}],
    },
    {
        "student": "bug_instance_norm_is_layer_norm",
        "description": "instance_norm normalizes over the channels too (that is layer norm)",
        "score": 15,
        "fails": ["test_instance_norm"],
        "edits": [{"sub": "instance_norm", "old": "axes = tuple(range(2, x.ndim))",
                   "new": "axes = tuple(range(1, x.ndim))"}],
    },
    {
        "student": "bug_group_norm_interleaved",
        "description": "group_norm groups interleaved channels (reshape (N, -1, G))",
        "score": 14,
        "fails": ["test_group_norm"],
        "edits": [{"sub": "group_norm", "old": "reshape(x.shape[0], num_groups, -1)",
                   "new": "reshape(x.shape[0], -1, num_groups).swapaxes(1, 2)"}],
    },
    {
        "student": "bug_fold_bn_old_bias",
        "description": "fold_batch_norm adds the old bias after scaling: scale * (-mean) + "
                       "beta + bias",
        "score": 14,
        "fails": ["test_fold_batch_norm"],
        "edits": [{"sub": "fold_batch_norm",
                   "old": "folded_bias = scale * (old_bias - running_mean) + beta",
                   "new": "folded_bias = scale * (-running_mean) + beta + old_bias"}],
    },
    {
        "student": "torch_layer_norm",
        "description": "layer_norm delegates to torch.nn.functional.layer_norm",
        "score": 15,
        "fails": ["test_layer_norm"],
        "edits": [{"replace": "layer_norm", "source":
                   "import torch\n\n\n"
                   "def layer_norm(x, gamma, beta, eps=1e-5):\n"
                   "    out = torch.nn.functional.layer_norm(\n"
                   "        torch.from_numpy(x), x.shape[1:], torch.from_numpy(gamma),\n"
                   "        torch.from_numpy(beta), eps)\n"
                   "    return out.numpy()\n"}],
    },
    {
        "student": "bug_bn_eval_uses_batch_stats",
        "description": "batch_norm normalizes with the batch's statistics in evaluation too",
        "score": 13,
        "fails": ["test_batch_norm"],
        "edits": [{"sub": "batch_norm",
                   "old": "        mean = running_mean.astype(np.float64)\n"
                          "        var = running_var.astype(np.float64)\n",
                   "new": "        mean = x64.mean(axis=axes)\n"
                          "        var = ((x64 - mean.reshape(shape)) ** 2).mean(axis=axes)\n"}],
    },
    {
        "student": "bug_bn_in_place",
        "description": "batch_norm updates the caller's running statistics in place",
        "score": 13,
        "fails": ["test_batch_norm"],
        "edits": [{"sub": "batch_norm",
                   "old": "new_mean = (1 - momentum) * running_mean + momentum * mean",
                   "new": "running_mean *= 1 - momentum\n"
                          "        running_mean += (momentum * mean).astype(x.dtype)\n"
                          "        new_mean = running_mean"}],
    },
    {
        "student": "bug_fold_bn_no_eps",
        "description": "fold_batch_norm leaves eps out of the scale",
        "score": 14,
        "fails": ["test_fold_batch_norm"],
        "edits": [{"sub": "fold_batch_norm", "old": "running_var.astype(np.float64) + eps",
                   "new": "running_var.astype(np.float64)"}],
    },
    {
        "student": "bug_bn_graph_mean_stage",
        "description": "batch_norm_backward_graph passes dmu to dx without the 1 / m of the mean",
        "score": 13,
        "fails": ["test_batch_norm_backward_graph"],
        "edits": [{"sub": "batch_norm_backward_graph", "old": "dx = dxc + dmu / m",
                   "new": "dx = dxc + dmu"}],
    },
    {
        "student": "bug_bn_graph_overwrites_xc_gradient",
        "description": "batch_norm_backward_graph overwrites dxc with the variance path",
        "score": 13,
        "fails": ["test_batch_norm_backward_graph"],
        "edits": [{"sub": "batch_norm_backward_graph", "old": "dxc = dxc + dv * 2 * xc / m",
                   "new": "dxc = dv * 2 * xc / m"}],
    },
    {
        "student": "bug_rms_norm_float64_eps",
        "description": "rms_norm's default eps is float64's, taken after converting the input",
        "score": 15,
        "fails": ["test_rms_norm"],
        "edits": [{"sub": "rms_norm", "old": "eps = np.finfo(x.dtype).eps",
                   "new": "eps = np.finfo(np.float64).eps"}],
    },
    {
        "student": "bug_rms_norm_centred",
        "description": "rms_norm subtracts the mean first (layer norm without beta)",
        "score": 15,
        "fails": ["test_rms_norm"],
        "edits": [{"sub": "rms_norm", "old": "x64 = x.astype(np.float64)\n",
                   "new": "x64 = x.astype(np.float64)\n"
                          "    x64 = x64 - x64.mean(axis=axes, keepdims=True)\n"}],
    },
]
