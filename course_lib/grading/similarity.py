"""Code similarity between students' answers to the same exercise, as Moss checks it.

Each answer is reduced to tokens with everything a copier changes cheaply taken out:
comments, docstrings, layout, variable names, string and number values
(:func:`normalise`). The tokens are cut into overlapping k-grams, hashed, and
*winnowed* (Schleimer, Wilkerson and Aiken, "Winnowing: local algorithms for document
fingerprinting", SIGMOD 2003, the algorithm behind Moss): in every window of
``window`` consecutive hashes the smallest is kept. Any run of ``k + window - 1``
shared tokens then leaves at least one shared fingerprint, while a cell keeps only
about ``2 / (window + 1)`` of its hashes.

The score of two answers is the *containment* of the smaller fingerprint set in the
larger, ``|A & B| / min(|A|, |B|)``, in [0, 1]. Containment rather than Jaccard's
``|A & B| / |A | B|`` because the usual disguise of a copy is to add code (prints,
checks, a helper); Jaccard falls with every added line while containment still sees
the copied core whole. The price, short answers being contained by chance, is paid by
skipping answers with fewer than ``min_tokens`` tokens of their own, by removing the
released template's fingerprints (Moss's "base file"), and by ignoring fingerprints
that most of the class shares (Moss's ``-m``).
"""

from __future__ import annotations

import builtins
import io
import keyword
import tokenize
import zlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import combinations

#: Token length of the k-grams that are hashed.
K = 8
#: Winnowing window: one fingerprint per this many consecutive k-gram hashes.
WINDOW = 4

#: Names a renamer does not touch: keywords and builtins (attribute names are kept too).
KEPT_NAMES = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | frozenset(dir(builtins))
SKIPPED = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER,
           getattr(tokenize, "TYPE_COMMENT", -1)}
FSTRING_START = getattr(tokenize, "FSTRING_START", -1)  # Python >= 3.12 splits f-strings
FSTRING_END = getattr(tokenize, "FSTRING_END", -1)
STATEMENT_START = {None, ";", "{", "}"}
CLOSING = {")", "]", "}"}


@dataclass(frozen=True)
class Pair:
    """Two students whose answers to one exercise look alike.

    Args:
        exercise: the exercise (e.g. a grade id of the notebook).
        a: one student (the alphabetically first).
        b: the other student.
        score: the containment of their fingerprints, in [0, 1].
        shared: how many fingerprints they share.
    """

    exercise: str
    a: str
    b: str
    score: float
    shared: int


def normalise(source: str) -> list[str]:
    """The tokens of ``source`` with names, literals, comments and layout normalised away.

    Variable names become ``V`` (keywords, builtins and attribute names stay: renaming
    does not change them), strings ``S``, numbers ``N``; statement ends are ``;`` and
    blocks ``{`` ``}``. Comments, blank lines, line breaks inside brackets, trailing
    commas and docstrings (any string that is a statement of its own) disappear.
    IPython magics and shell lines are dropped; code after a syntax error is ignored.

    Args:
        source: Python code, e.g. a notebook cell.

    Returns:
        The normalised tokens, in order.
    """
    return [token for _, token in _line_tokens(source)]


def _line_tokens(source: str) -> list[tuple[int, str]]:
    """Normalised tokens with the line each starts on."""
    out: list[tuple[int, str]] = []
    depth = 0  # inside an f-string (Python >= 3.12 tokenizes its parts)
    raw = _raw_tokens(_without_magics(source))
    for i, (kind, text, line) in enumerate(raw):
        if depth or kind == FSTRING_START:
            depth += (kind == FSTRING_START) - (kind == FSTRING_END)
            kind = tokenize.STRING if depth == 0 else None
            if kind is None:
                continue
        token = _token(kind, text, out[-1][1] if out else None)
        if token == "S" and _is_statement(out, raw, i):
            continue  # a docstring, or a string standing alone: no code
        if token == "S" and out and out[-1][1] == "S":
            continue  # "implicit" "concatenation" is one string
        if token in CLOSING and out and out[-1][1] == ",":
            out.pop()  # trailing commas come and go with formatters
        if token is not None:
            out.append((line, token))
    return out


def _token(kind: int, text: str, previous: str | None) -> str | None:
    if kind == tokenize.NAME:
        return text if text in KEPT_NAMES or previous == "." else "V"
    if kind == tokenize.STRING:
        return "S"
    if kind == tokenize.NUMBER:
        return "N"
    if kind == tokenize.NEWLINE or text == ";":
        return None if previous in STATEMENT_START else ";"
    if kind == tokenize.INDENT:
        return "{"
    if kind == tokenize.DEDENT:
        return "}"
    return text if kind == tokenize.OP else None


def _is_statement(out: list[tuple[int, str]], raw: list, i: int) -> bool:
    """Whether the string at ``raw[i]`` is a whole statement (a docstring, say)."""
    if (out[-1][1] if out else None) not in STATEMENT_START:
        return False
    following = next((t for t in raw[i + 1:] if t[0] != tokenize.STRING), None)
    return following is None or following[0] == tokenize.NEWLINE or following[1] == ";"


def _raw_tokens(source: str) -> list[tuple[int, str, int]]:
    tokens = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type not in SKIPPED:
                tokens.append((tok.type, tok.string, tok.start[0]))
    except (tokenize.TokenError, SyntaxError):
        pass  # keep what came before the error: a half-finished answer still counts
    return tokens


def _without_magics(source: str) -> str:
    """Blank out IPython lines (``%magic``, ``!shell``) that are no Python."""
    return "\n".join("" if line.lstrip()[:1] in {"%", "!"} else line
                     for line in source.splitlines())


def fingerprints(tokens: list[str], k: int = K, window: int = WINDOW) -> set[int]:
    """The winnowed hashes of the ``k``-grams of ``tokens`` (the whole list if shorter)."""
    if not tokens:
        return set()
    grams = [tokens[i:i + k] for i in range(max(1, len(tokens) - k + 1))]
    # crc32 rather than hash(): the same code gets the same fingerprints in every run.
    hashes = [zlib.crc32("\x1f".join(gram).encode()) for gram in grams]
    if len(hashes) <= window:
        return {min(hashes)}
    return {min(hashes[i:i + window]) for i in range(len(hashes) - window + 1)}


def similarity(a: str, b: str) -> float:
    """How much of the smaller answer's fingerprints the other shares, in [0, 1].

    Args:
        a: one answer's source.
        b: the other's.

    Returns:
        ``|A & B| / min(|A|, |B|)`` of their fingerprint sets; 0.0 if either is empty.
    """
    return _containment(fingerprints(normalise(a)), fingerprints(normalise(b)))


def _containment(a: set[int], b: set[int]) -> float:
    return len(a & b) / min(len(a), len(b)) if a and b else 0.0


def similar_pairs(submissions: Mapping[str, Mapping[str, str]], threshold: float = 0.6,
                  min_tokens: int = 25, *, templates: Mapping[str, str] | None = None,
                  common: int | None = 10) -> list[Pair]:
    """Pairs of students whose answers to an exercise score at least ``threshold``.

    Args:
        submissions: ``{student: {exercise: source}}``, e.g. each student's solution
            cells by grade id.
        threshold: the lowest score reported, in [0, 1].
        min_tokens: answers with fewer normalised tokens of their own (not on a line
            of the template) are skipped: a one-line answer every correct student
            writes proves nothing.
        templates: ``{exercise: released code}``; its fingerprints are removed from
            every answer, so the code everyone was given is not evidence.
        common: fingerprints found in more than this many answers to one exercise are
            ignored (Moss's ``-m``, default 10); ``None`` keeps them all.

    Returns:
        Pairs grouped by exercise (in order of first appearance), highest score first.

    Raises:
        ValueError: ``threshold`` is outside [0, 1] or ``min_tokens`` / ``common`` < 0.
    """
    _check(threshold, min_tokens, common)
    templates = templates or {}
    exercises = list(dict.fromkeys(ex for cells in submissions.values() for ex in cells))
    pairs: list[Pair] = []
    for exercise in exercises:
        prints = _prints(submissions, exercise, templates.get(exercise, ""), min_tokens)
        prints = _without_common(prints, common)
        found = [Pair(exercise, a, b, _containment(prints[a], prints[b]),
                      len(prints[a] & prints[b]))
                 for a, b in combinations(sorted(prints), 2)]
        pairs += sorted((p for p in found if p.shared and p.score >= threshold),
                        key=lambda p: (-p.score, p.a, p.b))
    return pairs


def _prints(submissions, exercise: str, template: str, min_tokens: int) -> dict[str, set[int]]:
    """Each long-enough answer's fingerprints, less the template's."""
    base = fingerprints(normalise(template))
    base_lines = set(_by_line(_line_tokens(template)))
    prints = {}
    for student, cells in submissions.items():
        tokens = _line_tokens(cells.get(exercise) or "")
        own = sum(len(line) for line in _by_line(tokens) if line not in base_lines)
        if own >= min_tokens:
            prints[student] = fingerprints([t for _, t in tokens]) - base
    return {student: fp for student, fp in prints.items() if fp}


def _by_line(tokens: list[tuple[int, str]]) -> list[tuple[str, ...]]:
    lines: dict[int, list[str]] = {}
    for line, token in tokens:
        lines.setdefault(line, []).append(token)
    return [tuple(line) for line in lines.values()]


def _without_common(prints: dict[str, set[int]], common: int | None) -> dict[str, set[int]]:
    if common is None:
        return prints
    counts = Counter(h for fp in prints.values() for h in fp)
    rare = {student: {h for h in fp if counts[h] <= common} for student, fp in prints.items()}
    return {student: fp for student, fp in rare.items() if fp}


def _check(threshold: float, min_tokens: int, common: int | None) -> None:
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold: expected a score from 0 to 1, got {threshold!r}")
    if min_tokens < 0:
        raise ValueError(f"min_tokens: expected a count >= 0, got {min_tokens!r}")
    if common is not None and common < 0:
        raise ValueError(f"common: expected a count >= 0 or None, got {common!r}")
