"""Similarity of exercise answers: disguised copies are caught, independent solutions are
not, trivial answers and the released template are no evidence, and a class is fast."""

from __future__ import annotations

import random

import pytest

from course_lib.grading.similarity import Pair, normalise, similar_pairs, similarity

THRESHOLD = 0.6

ORIGINAL = '''
def batch_norm(x, gamma, beta, eps=1e-5):
    """Normalise each feature over the batch, then scale and shift."""
    # mean and variance over the batch axis
    mean = x.mean(axis=0)
    var = x.var(axis=0)
    x_hat = (x - mean) / np.sqrt(var + eps)
    out = gamma * x_hat + beta
    cache = (x, x_hat, mean, var, gamma, eps)
    return out, cache


def batch_norm_backward(dout, cache):
    x, x_hat, mean, var, gamma, eps = cache
    n = x.shape[0]
    dgamma = np.sum(dout * x_hat, axis=0)
    dbeta = np.sum(dout, axis=0)
    dx_hat = dout * gamma
    inv_std = 1.0 / np.sqrt(var + eps)
    dx = inv_std / n * (n * dx_hat - dx_hat.sum(axis=0) - x_hat * np.sum(dx_hat * x_hat, axis=0))
    return dx, dgamma, dbeta
'''

# ORIGINAL with every name changed, reformatted, other comments and docstring, and
# different literals: what a copier does in ten minutes.
DISGUISED = '''
def batch_norm(inputs, scale, shift, epsilon=0.00001):
    """My own implementation of batchnorm!!"""
    mu = inputs.mean(axis=0)            # batch mean
    sigma2 = inputs.var(axis=0)         # batch variance
    normalized = (inputs - mu) / np.sqrt(
        sigma2 + epsilon,
    )
    result = scale * normalized + shift
    saved = (
        inputs, normalized, mu, sigma2, scale, epsilon,
    )
    return result, saved

def batch_norm_backward(grad, saved):
    # unpack what the forward pass kept
    inputs, normalized, mu, sigma2, scale, epsilon = saved
    m = inputs.shape[0]
    d_scale = np.sum(grad * normalized, axis=0)
    d_shift = np.sum(grad, axis=0)
    d_norm = grad * scale
    inverse = 1.0 / np.sqrt(sigma2 + epsilon)
    d_inputs = inverse / m * (m * d_norm
                              - d_norm.sum(axis=0)
                              - normalized * np.sum(d_norm * normalized, axis=0))
    return d_inputs, d_scale, d_shift
'''

# The same exercise solved by someone else: same maths, their own way of writing it.
INDEPENDENT = '''
def batch_norm(x, gamma, beta, eps=1e-5):
    mu = np.mean(x, axis=0)
    centered = x - mu
    variance = np.mean(centered ** 2, axis=0)
    std = np.sqrt(variance + eps)
    normed = centered / std
    return gamma * normed + beta, {"normed": normed, "std": std, "gamma": gamma}


def batch_norm_backward(dout, cache):
    normed, std, gamma = cache["normed"], cache["std"], cache["gamma"]
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * normed).sum(axis=0)
    dnormed = dout * gamma
    dx = (1.0 / N) / std * (N * dnormed - dnormed.sum(axis=0)
                             - normed * (dnormed * normed).sum(axis=0))
    return dx, dgamma, dbeta
'''

TEMPLATE = '''
def relu_network(x, weights, biases):
    """Forward pass of a small ReLU network; returns the logits."""
    hidden = x
    # YOUR CODE HERE
    raise NotImplementedError()
'''


def test_normalise_replaces_names_and_literals_and_drops_comments():
    assert normalise("total = 1  # start\nname = 'a' 'b'\n") == \
        ["V", "=", "N", ";", "V", "=", "S", ";"]


def test_normalise_keeps_what_renaming_cannot_change():
    assert normalise("y = np.sum(len(x), axis=0)") == \
        ["V", "=", "V", ".", "sum", "(", "len", "(", "V", ")", ",", "V", "=", "N", ")", ";"]


def test_normalise_drops_docstrings_and_layout():
    plain = "def f(a, b):\n    return a + b\n"
    fancy = ('def f(\n    a,\n    b,\n):\n    """Add."""\n\n'
             '    # sum\n    return a + \\\n        b\n')
    assert normalise(fancy) == normalise(plain)
    assert normalise('"""Module."""\nx = 1\n') == normalise("x = 1\n")


def test_normalise_survives_magics_and_broken_code():
    assert normalise("%matplotlib inline\n!pip list\nx = 1\n") == ["V", "=", "N", ";"]
    assert normalise("x = (1,\n") == ["V", "=", "(", "N", ","]  # unclosed: what came before
    assert normalise("") == []


def test_renamed_reformatted_recommented_copy_scores_above_threshold():
    assert similarity(ORIGINAL, DISGUISED) >= THRESHOLD
    assert similarity(DISGUISED, ORIGINAL) == similarity(ORIGINAL, DISGUISED)


def test_independent_correct_solutions_score_below_threshold():
    assert similarity(ORIGINAL, INDEPENDENT) < THRESHOLD
    assert similarity(DISGUISED, INDEPENDENT) < THRESHOLD


def test_padding_a_copy_with_extra_code_does_not_hide_it():
    padded = DISGUISED + '''
def check(values):
    for index, value in enumerate(values):
        print("value", index, value.shape, value.dtype, value.min(), value.max())
    assert all(v is not None for v in values), "missing"
'''
    assert similarity(ORIGINAL, padded) >= THRESHOLD


def test_similarity_bounds():
    assert similarity(ORIGINAL, ORIGINAL) == 1.0
    assert similarity(ORIGINAL, "") == 0.0
    assert 0.0 <= similarity(ORIGINAL, INDEPENDENT) <= 1.0


def test_similar_pairs_finds_the_copy_and_only_the_copy():
    submissions = {
        "ada": {"bn": ORIGINAL, "relu": "def relu(x):\n    return np.maximum(x, 0)\n"},
        "bob": {"bn": DISGUISED, "relu": "def relu(x):\n    return np.maximum(x, 0)\n"},
        "cyd": {"bn": INDEPENDENT, "relu": "def relu(z):\n    return np.maximum(z, 0)\n"},
    }
    pairs = similar_pairs(submissions, threshold=THRESHOLD)
    assert [(p.exercise, p.a, p.b) for p in pairs] == [("bn", "ada", "bob")]
    assert pairs[0].score >= THRESHOLD and pairs[0].shared > 0


def test_one_line_answers_everyone_writes_are_skipped():
    line = "def relu(x):\n    return np.maximum(x, 0)\n"
    submissions = {name: {"relu": line} for name in ("ada", "bob", "cyd")}
    assert similar_pairs(submissions, threshold=0.0) == []
    assert len(similar_pairs(submissions, threshold=0.0, min_tokens=0)) == 3


def test_released_template_code_is_not_evidence():
    def answer(body: str) -> str:
        return TEMPLATE.replace("    # YOUR CODE HERE\n    raise NotImplementedError()\n", body)

    looped = ("    for weight, bias in zip(weights[:-1], biases[:-1]):\n"
              "        hidden = np.maximum(hidden @ weight + bias, 0.0)\n"
              "    return hidden @ weights[-1] + biases[-1]\n")
    recursive = ("    if not weights:\n        return hidden\n"
                 "    layer = x @ weights[0] + biases[0]\n"
                 "    if len(weights) > 1:\n        layer = np.where(layer > 0, layer, 0)\n"
                 "    return relu_network(layer, weights[1:], biases[1:])\n")
    submissions = {"ada": {"net": answer(looped)}, "bob": {"net": answer(recursive)},
                   "cyd": {"net": TEMPLATE}, "dan": {"net": TEMPLATE}}
    # Without the template, the shared scaffolding alone makes the untouched pair identical.
    assert ("cyd", "dan") in {(p.a, p.b) for p in similar_pairs(submissions, min_tokens=0)}
    pairs = similar_pairs(submissions, templates={"net": TEMPLATE}, min_tokens=10)
    assert pairs == []


def test_pairs_are_grouped_by_exercise_and_ranked():
    near = DISGUISED.replace("d_inputs, d_scale, d_shift", "d_shift, d_scale, d_inputs")
    submissions = {"ada": {"bn": ORIGINAL, "x": ORIGINAL}, "bob": {"bn": DISGUISED},
                   "cyd": {"bn": ORIGINAL}, "dan": {"bn": near, "x": ORIGINAL}}
    pairs = similar_pairs(submissions)
    assert [p.exercise for p in pairs] == ["bn"] * 6 + ["x"]
    scores = [p.score for p in pairs if p.exercise == "bn"]
    assert scores == sorted(scores, reverse=True) and scores[0] == 1.0
    assert pairs[-1] == Pair("x", "ada", "dan", 1.0, pairs[-1].shared)


def test_fingerprints_most_of_the_class_shares_are_ignored():
    submissions = {f"s{i:02d}": {"bn": ORIGINAL} for i in range(12)}
    assert len(similar_pairs(submissions, common=None)) == 66
    assert similar_pairs(submissions, common=10) == []  # everyone wrote it: no evidence


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"threshold": 1.5}, r"threshold: expected a score from 0 to 1, got 1\.5"),
    ({"min_tokens": -1}, r"min_tokens: expected a count >= 0, got -1"),
    ({"common": -2}, r"common: expected a count >= 0 or None, got -2"),
])
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        similar_pairs({}, **kwargs)


def random_answer(rng: random.Random, length: int) -> str:
    """A plausible, student-specific answer: statements over the student's own names."""
    names = [f"{rng.choice('abcdefghxyz')}{rng.randrange(100)}" for _ in range(6)]
    shapes = [
        "{0} = np.{f}({1}, axis={n})",
        "{0} = {1} * {2} + {n}",
        "for {0} in range(len({1})):\n        {2} += {1}[{0}] ** {n}",
        "if {0} > {n}:\n        {1} = {0} - {2}",
        "{0} = [{1} for {1} in {2} if {1} != {n}]",
        "{0}, {1} = {1}, {0} / ({2} + {n})",
    ]
    lines = []
    for _ in range(length):
        template = rng.choice(shapes)
        picked = rng.sample(names, 3)
        lines.append("    " + template.format(*picked, f=rng.choice(["sum", "mean", "max"]),
                                             n=rng.randrange(10)))
    return "def answer(data):\n" + "\n".join(lines) + f"\n    return {names[0]}\n"


def test_in_a_class_of_50_with_5_exercises_the_one_copy_is_found():
    rng = random.Random(7)
    submissions = {f"student{s:02d}": {f"ex{e}": random_answer(rng, 12) for e in range(5)}
                   for s in range(50)}
    submissions["student49"]["ex3"] = submissions["student07"]["ex3"].replace("data", "inputs")
    pairs = similar_pairs(submissions, threshold=0.9)
    assert ("ex3", "student07", "student49") in {(p.exercise, p.a, p.b) for p in pairs}
