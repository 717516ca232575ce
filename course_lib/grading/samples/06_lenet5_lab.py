"""Sample submissions of 06_lenet5_lab: classic bugs (format: README.md).

Generic samples (unanswered, crash, infinite loop, ...) are added automatically. PyTorch
is the point of this lab, so calling torch is no cheat here; calling course_lib is
(the generic delegates_reference sample covers it).
"""

SAMPLES = [
    {
        "student": "bug_conv_no_padding",
        "description": "conv_output_size forgets the padding",
        "score": 6,
        "fails": ["test_conv_output_size"],
        "edits": [{"sub": "conv_output_size", "old": "(size + 2 * padding - kernel_size)",
                   "new": "(size - kernel_size)"}],
    },
    {
        "student": "bug_count_tensors",
        "description": "count_parameters counts parameter tensors, not their elements",
        "score": 6,
        "fails": ["test_count_parameters"],
        "edits": [{"sub": "count_parameters", "old": "p.numel()", "new": "1"}],
    },
    {
        "student": "bug_lenet_no_padding",
        "description": "LeNet5's C1 has no padding: 28x28 inputs no longer fit the 16*5*5 layer",
        "score": 4,
        "fails": ["test_LeNet5"],
        "edits": [{"sub": "LeNet5", "old": "nn.Conv2d(1, 6, kernel_size=5, padding=2)",
                   "new": "nn.Conv2d(1, 6, kernel_size=5)"}],
    },
    {
        "student": "bug_shapes_with_batch",
        "description": "layer_output_shapes keeps the batch dimension in each shape",
        "score": 5,
        "fails": ["test_layer_output_shapes"],
        "edits": [{"sub": "layer_output_shapes", "old": "tuple(output.shape[1:])",
                   "new": "tuple(output.shape)"}],
    },
    {
        "student": "bug_count_frozen",
        "description": "count_parameters also counts frozen parameters (requires_grad=False)",
        "score": 6,
        "fails": ["test_count_parameters"],
        "edits": [{"sub": "count_parameters", "old": " if p.requires_grad", "new": ""}],
    },
    {
        "student": "bug_lenet_softmax",
        "description": "LeNet5 returns softmax probabilities instead of logits",
        "score": 4,
        "fails": ["test_LeNet5"],
        "edits": [{"sub": "LeNet5", "old": "return self.classifier(self.features(x).flatten(1))",
                   "new": "return torch.softmax(self.classifier(self.features(x).flatten(1)), "
                          "dim=1)"}],
    },
    {
        "student": "cheat_lenet_subclass",
        "description": "LeNet5 subclasses the reference course_lib.reference.lenet.LeNet5",
        "score": 4,
        "fails": ["test_LeNet5"],
        "edits": [{"replace": "LeNet5", "source":
                   "from course_lib.reference.lenet import LeNet5 as _Reference\n\n\n"
                   "class LeNet5(_Reference):\n    pass\n"}],
    },
    {
        "student": "bug_shapes_no_finally",
        "description": "layer_output_shapes removes its hooks only if the forward pass succeeds",
        "score": 5,
        "fails": ["test_layer_output_shapes"],
        "edits": [{"replace": "layer_output_shapes", "source": (
            "def layer_output_shapes(model, input_shape):\n"
            "    shapes = []\n"
            "    handles = [m.register_forward_hook(\n"
            "        lambda m, i, o, name=name: shapes.append((name, tuple(o.shape[1:]))))\n"
            "        for name, m in model.named_modules() if not list(m.children())]\n"
            "    was_training = model.training\n"
            "    model.eval()\n"
            "    with torch.no_grad():\n"
            "        model(torch.zeros(1, *input_shape))\n"
            "    for handle in handles:\n"
            "        handle.remove()\n"
            "    model.train(was_training)\n"
            "    return shapes\n")}],
    },
]
