"""The reference implementations: exactly what students re-implement, one module per topic.

============================  =========================================================
module                        exercises
============================  =========================================================
:mod:`.linear`                ``collapse_linear`` (notebook 01)
:mod:`.regions`               ``count_linear_pieces``, ``xor_relu_weights`` (01)
:mod:`.activations`           ``sigmoid``, ``sigmoid_grad``, ``tanh_grad`` (02), ``relu``,
                              ``relu_grad`` (03)
:mod:`.init`                  ``xavier_std`` (02)
:mod:`.dead_relu`             ``dead_unit_fraction``, ``dead_layer_probability`` (03)
:mod:`.relu_variants`         ``leaky_relu``, ``prelu``, ``prelu_backward``, ``rrelu``,
                              ``elu``, ``elu_grad`` (04)
:mod:`.norms`                 ``batch_norm``, ``batch_norm_backward``, ``layer_norm``,
                              ``instance_norm``, ``group_norm``, ``fold_batch_norm`` (05)
:mod:`.lenet`                 ``conv_output_size``, ``count_parameters``, ``LeNet5``,
                              ``layer_output_shapes`` (06)
============================  =========================================================

NumPy functions follow PyTorch's conventions, so PyTorch is the tests' oracle; only
:mod:`.lenet` imports PyTorch. Nothing here imports :mod:`course_lib.lab` or
:mod:`course_lib.grading` (a test enforces it): the student edition leaves this package
out, and the checks there work from answers stored when it was built.
"""
