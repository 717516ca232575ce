"""Fresh, untampered copies of the checks, for hidden tests.

A hidden test must not trust anything the notebook could have changed. A student
can run, in any cell before a test::

    import course_lib.checks
    course_lib.checks.check_sigmoid = lambda f: None       # the check as a no-op
    np.testing.assert_allclose = lambda *a, **k: None       # numpy's asserts as no-ops

and the visible test, which imports from ``course_lib.checks``, passes whatever the
function does. Hidden tests therefore call::

    from course_lib.grading.hidden import fresh_checks
    fresh_checks().check_sigmoid(sigmoid, seed=7, thorough=True)

:func:`fresh_checks` first verifies that numpy and the builtins the checks rely on
are the genuine ones (a replaced function fails the test with a message saying
so), then returns a namespace whose ``check_*`` functions come from course_lib's
source files executed anew: a fresh ``course_lib.checks.core``, fresh check
modules and fresh reference implementations, none of them the objects the
notebook may have patched. Each check also runs with those fresh modules in
``sys.modules``, so imports it makes while running are fresh too.

What this does not defend (see docs/instructors.md): code that replaces this
module or ``fresh_checks`` itself in ``sys.modules``, that swaps a numpy ufunc
for another ufunc (``np.abs = np.negative``), that inspects the checker's frames
while it runs (``sys._getframe``, ``gc``), or that edits files on disk.
``course grade`` flags notebooks whose code reaches for such tools.
"""

from __future__ import annotations

import builtins
import importlib.abc
import importlib.util
import inspect
import sys
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

PACKAGE = "course_lib"
PACKAGE_DIR = Path(__file__).resolve().parents[1]
_NUMPY_HOME = str(Path(np.__file__).resolve().parent)

#: Builtins that the checks' verdicts depend on.
_BUILTINS = (
    "abs", "all", "any", "callable", "float", "getattr", "int", "isinstance", "len", "max",
    "min", "repr", "round", "sorted", "sum", "tuple", "type", "zip",
)
#: Functions of sys that the delegation guard relies on.
_SYS_FUNCTIONS = ("getprofile", "setprofile")


class TamperingDetected(AssertionError):
    """The notebook replaced something the checks rely on; the test cannot be trusted."""


# ---------------------------------------------------------------- genuine numpy


def _is_numpy_code(fn: Any) -> bool:
    code = getattr(inspect.unwrap(fn), "__code__", None)
    return code is not None and str(Path(code.co_filename).resolve()).startswith(_NUMPY_HOME)


def _is_numpy_builtin(fn: Any) -> bool:
    if not isinstance(fn, types.BuiltinFunctionType):
        return False
    owner = getattr(fn, "__self__", None)
    owner_name = getattr(owner, "__name__", "") if owner is not None else ""
    return owner_name.startswith("numpy") or (fn.__module__ or "").startswith("numpy")


def _genuine_numpy_attribute(obj: Any) -> bool:
    """Is ``obj`` (an attribute of a numpy module) made by numpy itself?"""
    if isinstance(obj, types.ModuleType) or not callable(obj):
        return True
    if isinstance(obj, type):
        return obj.__module__.split(".")[0] in ("numpy", "unittest")
    if type(obj) is np.ufunc:
        return True
    if isinstance(obj, types.MethodType):  # e.g. numpy.random.beta of the legacy RandomState
        return type(obj.__self__).__module__.startswith("numpy") and (
            _is_numpy_code(obj.__func__) or type(obj.__func__).__module__.startswith("_cython"))
    if isinstance(obj, types.FunctionType):
        return _is_numpy_code(obj)
    implementation = getattr(obj, "_implementation", None)
    if type(obj).__module__ == "numpy" and implementation is not None:
        return _is_numpy_code(implementation) or _is_numpy_builtin(implementation)
    return _is_numpy_builtin(obj) or (
        type(obj).__module__.startswith(("numpy", "_cython"))
        and (getattr(obj, "__module__", "") or "").startswith("numpy")
    )


def _numpy_modules() -> list[types.ModuleType]:
    import numpy.linalg
    import numpy.random
    import numpy.testing

    return [np, numpy.linalg, numpy.random, numpy.testing]


def tampered_names() -> list[str]:
    """Names of numpy functions, builtins and ``sys`` hooks replaced by non-genuine objects."""
    found = []
    for module in _numpy_modules():
        for name in dir(module):
            if not name.startswith("_") and not _genuine_numpy_attribute(getattr(module, name)):
                found.append(f"{module.__name__}.{name}")
    for name in _BUILTINS:
        obj = getattr(builtins, name, None)
        if getattr(obj, "__module__", None) != "builtins":
            found.append(f"builtins.{name}")
    for name in _SYS_FUNCTIONS:
        obj = getattr(sys, name, None)
        if not isinstance(obj, types.BuiltinFunctionType) or obj.__module__ != "sys":
            found.append(f"sys.{name}")
    return found


def verify_environment() -> None:
    """Raise :class:`TamperingDetected` if numpy or a builtin the checks use was replaced."""
    found = tampered_names()
    if found:
        shown = ", ".join(found[:5]) + (f" and {len(found) - 5} more" if len(found) > 5 else "")
        raise TamperingDetected(
            f"this notebook replaced {shown}; the hidden tests cannot trust it and fail. "
            "Remove the code that reassigns these names and run the notebook again."
        )


# ------------------------------------------------------------ fresh course_lib


class _FileFinder(importlib.abc.MetaPathFinder):
    """Finds ``course_lib`` modules in the package's own files, ahead of any other finder."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None):
        if fullname != PACKAGE and not fullname.startswith(PACKAGE + "."):
            return None
        relative = Path(*fullname.split(".")[1:])
        package_init = PACKAGE_DIR / relative / "__init__.py"
        if package_init.is_file():
            return importlib.util.spec_from_file_location(
                fullname, package_init, submodule_search_locations=[str(package_init.parent)]
            )
        module_file = (PACKAGE_DIR / relative).with_suffix(".py")
        if module_file.is_file():
            return importlib.util.spec_from_file_location(fullname, module_file)
        return None


def _is_ours(name: str) -> bool:
    return name == PACKAGE or name.startswith(PACKAGE + ".")


class FreshModules:
    """A private set of ``course_lib`` modules, executed anew from the package's files."""

    def __init__(self) -> None:
        self.modules: dict[str, types.ModuleType] = {}

    @contextmanager
    def active(self) -> Iterator[None]:
        """Make these modules the ones ``import course_lib...`` sees, then restore the old."""
        saved = {name: mod for name, mod in sys.modules.items() if _is_ours(name)}
        for name in saved:
            del sys.modules[name]
        sys.modules.update(self.modules)
        finder = _FileFinder()
        sys.meta_path.insert(0, finder)
        try:
            yield
        finally:
            sys.meta_path.remove(finder)
            for name in [n for n in sys.modules if _is_ours(n)]:
                self.modules[name] = sys.modules.pop(name)
            sys.modules.update(saved)

    def load(self, name: str) -> types.ModuleType:
        """The fresh module ``name`` (e.g. ``"course_lib.checks.activations"``)."""
        with self.active():
            parent = None
            for depth in range(1, name.count(".") + 2):
                partial = ".".join(name.split(".")[:depth])
                if partial not in sys.modules:
                    self._execute(partial, parent)
                parent = sys.modules[partial]
            return sys.modules[name]

    @staticmethod
    def _execute(name: str, parent: types.ModuleType | None) -> None:
        spec = _FileFinder().find_spec(name)
        if spec is None or spec.loader is None:
            raise ModuleNotFoundError(f"no module {name!r} in {PACKAGE_DIR}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        if parent is not None:
            setattr(parent, name.rsplit(".", 1)[1], module)

    def wrap(self, fn: Callable) -> Callable:
        """``fn`` run with these fresh modules in ``sys.modules``."""

        def run_fresh(*args: Any, **kwargs: Any) -> Any:
            with self.active():
                return fn(*args, **kwargs)

        run_fresh.__name__ = getattr(fn, "__name__", "check")
        run_fresh.__doc__ = getattr(fn, "__doc__", None)
        return run_fresh


class FreshChecks:
    """Namespace of ``check_*`` functions loaded anew; each check module loads on first use."""

    def __init__(self, fresh: FreshModules) -> None:
        self._fresh = fresh
        package = fresh.load(f"{PACKAGE}.checks")
        self._where: dict[str, str] = dict(package._CHECKS)

    def __getattr__(self, name: str) -> Callable:
        if name.startswith("_") or name not in self._where:
            raise AttributeError(f"course_lib.checks has no check named {name!r}")
        module = self._fresh.load(f"{PACKAGE}.checks.{self._where[name]}")
        check = self._fresh.wrap(getattr(module, name))
        setattr(self, name, check)
        return check

    def __dir__(self) -> list[str]:
        return sorted(self._where)


def fresh_checks() -> FreshChecks:
    """Every ``check_*`` of :mod:`course_lib.checks`, loaded anew from the package's files.

    Raises:
        TamperingDetected: the notebook replaced a numpy function or a builtin that
            the checks rely on (an ``AssertionError``, so the test fails).
    """
    verify_environment()
    return FreshChecks(FreshModules())


def load_fresh(path: str | Path) -> types.ModuleType:
    """A module executed anew from ``path`` with fresh ``course_lib`` modules under it.

    For checks that live beside a notebook rather than in course_lib (e.g. a test
    assignment's own checks); its check functions run with the fresh modules active.
    """
    verify_environment()
    fresh = FreshModules()
    path = Path(path).resolve()
    spec = importlib.util.spec_from_file_location(f"_fresh_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"cannot load checks from {path}")
    module = importlib.util.module_from_spec(spec)
    with fresh.active():
        spec.loader.exec_module(module)
    for name in dir(module):
        if name.startswith("check_"):
            setattr(module, name, fresh.wrap(getattr(module, name)))
    return module
