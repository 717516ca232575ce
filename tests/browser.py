"""Drive JupyterLab in a real browser for end-to-end tests.

The helpers start a JupyterLab server in its own process group (:func:`jupyterlab`),
open Debian's Chromium through Playwright (:func:`browser_page`) and act the way a
learner does: open a notebook, run a cell, read what it printed, edit a cell, save, look
at the menus and side bars. Nothing here downloads a browser: Playwright launches the
Chromium found by :func:`chromium_path` (``apt-get install chromium``, or ``.ci/services``).

Typical use::

    with jupyterlab(workdir) as lab, browser_page(tmp_path / "shots") as page:
        notebook = open_notebook(page, lab, "tiny.ipynb")
        assert "hello" in run_cell(notebook, 0)

Cells are counted among *code* cells from 0, in notebook order. Every wait polls the
page (no fixed sleeps) and is bounded twice: by its own timeout and by the page's total
budget (``total_timeout_s`` of :func:`browser_page`). A step that fails takes a
screenshot and names it in the error, and :func:`browser_page` takes a last one when it
closes; :func:`screenshots` lists them.

``course start`` (:mod:`course_lib.learner.workspace`) hides nbgrader's instructor UI;
tests/test_browser.py shows it in a real browser.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import weakref
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

CHROMIUM_ENV = "COURSE_CHROMIUM"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
MISSING_CHROMIUM = (
    "No Chromium found for the browser tests: install Debian's chromium "
    "(apt-get install chromium), or run .ci/services, or set COURSE_CHROMIUM to a "
    "Chromium or Chrome binary. Playwright's own browser download is not used."
)
# Headless Chromium on a machine without a network: background networking (updates,
# sync, component downloads, QUIC probes) would wait on refused connections and stall.
# Root needs --no-sandbox. The fresh profile is not a flag here: Playwright refuses
# --user-data-dir in args, so it goes through launch_persistent_context instead.
CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
VIEWPORT = {"width": 1280, "height": 800}

START_TIMEOUT_S = 60.0  # server start and first page load on a slow 2-core machine
STEP_TIMEOUT_S = 30.0  # one UI step (a click, an edit, a save)
RUN_TIMEOUT_S = 60.0  # one cell run, kernel start included
TOTAL_TIMEOUT_S = 180.0  # everything one browser_page does
STOP_TIMEOUT_S = 10.0  # graceful server shutdown (kernels included) before SIGKILL
PORT_ATTEMPTS = 3  # a free port can be taken between probing it and binding it
POLL_MS = 100

# --------------------------------------------------------------------------- Chromium


def chromium_path() -> str | None:
    """Find a Chromium (or Chrome) binary to drive.

    Returns:
        ``$COURSE_CHROMIUM`` if set (a path or a name on ``PATH``), else Debian's
        ``/usr/bin/chromium``, else the first of ``chromium``, ``chromium-browser``,
        ``google-chrome`` on ``PATH``; ``None`` when there is none (or when
        ``$COURSE_CHROMIUM`` names nothing executable).
    """
    override = os.environ.get(CHROMIUM_ENV)
    if override:
        return shutil.which(override)
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


# --------------------------------------------------------------------------- server


@dataclass
class LabServer:
    """A running JupyterLab server started by :func:`jupyterlab`.

    Args:
        url: base URL, ending in ``/`` (``http://127.0.0.1:PORT/``).
        token: the server's token.
        root_dir: the directory it serves.
        process: the server process (leader of its own process group).
        log_path: file with the server's stdout and stderr.
        startup_s: seconds from launch until ``/api/status`` answered.
    """

    url: str
    token: str
    root_dir: Path
    process: subprocess.Popen
    log_path: Path
    startup_s: float

    @property
    def log(self) -> str:
        """Everything the server has printed so far."""
        return self.log_path.read_text(errors="replace")

    def lab_url(self, path: str = "") -> str:
        """URL of JupyterLab, or of ``path`` (relative to the root) opened in it."""
        tree = f"tree/{quote(path)}" if path else ""
        return f"{self.url}lab/{tree}?token={quote(self.token)}"

    def child_pids(self) -> list[int]:
        """PIDs of the server's descendants: its kernels, and its own server if wrapped."""
        return _descendants(self.process.pid)

    def api(self, path: str) -> object:
        """GET ``/api/<path>`` and decode its JSON (e.g. ``api("sessions")``)."""
        return _get_json(f"{self.url}api/{path}", self.token, timeout_s=10)


def free_port() -> int:
    """A TCP port of 127.0.0.1 that is free right now (it can be taken before use)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def jupyterlab(
    workdir: str | os.PathLike,
    argv: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    *,
    port: int | None = None,
    token: str | None = None,
    timeout_s: float = START_TIMEOUT_S,
) -> Iterator[LabServer]:
    """Run a JupyterLab server for the duration of a ``with`` block.

    The server runs in a new process group with its runtime files, user config, lab
    settings and workspaces in a private temporary directory, so nothing from
    ``~/.jupyter`` or an earlier run (a restored layout, a dismissed dialog) leaks in.
    On exit, even after a failure, the group gets SIGTERM (the server shuts its kernels
    down), then SIGKILL, and any kernel left over (kernels run in sessions of their own)
    is killed by PID.

    Args:
        workdir: directory to serve; also the server's working directory.
        argv: command to run instead of the default ``python -m jupyter lab ...``;
            ``"{port}"`` and ``"{token}"`` in its items are filled in, e.g.
            ``["course", "start", dir, "--no-browser", "--port", "{port}",
            "--token", "{token}"]``.
        env: variables set on top of ours, e.g. ``JUPYTER_CONFIG_PATH``.
        port: port to use; by default a free one, and another one if it is taken
            before the server binds it (up to :data:`PORT_ATTEMPTS` tries).
        token: token to use; a random one by default.
        timeout_s: how long the server may take to answer ``/api/status``.

    Yields:
        The running :class:`LabServer`.

    Raises:
        RuntimeError: the server exited before it was ready (its log is in the message).
        TimeoutError: it did not answer within ``timeout_s``.
    """
    workdir = Path(workdir).resolve()
    token = token or secrets.token_hex(16)
    state = Path(tempfile.mkdtemp(prefix="course-jupyterlab-"))
    runtime_dir = state / "runtime"
    full_env = {
        **os.environ,
        "JUPYTER_RUNTIME_DIR": str(runtime_dir),
        "JUPYTER_CONFIG_DIR": str(state / "config"),
        "JUPYTERLAB_SETTINGS_DIR": str(state / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(state / "workspaces"),
        "PYTHONUNBUFFERED": "1",  # the log is read while the server runs
        **(env or {}),
    }
    log_path = state / "server.log"
    attempts = 1 if port else PORT_ATTEMPTS
    try:
        for attempt in range(1, attempts + 1):
            chosen_port = port or free_port()
            started = time.monotonic()
            with open(log_path, "wb") as log_file:
                process = subprocess.Popen(
                    _server_command(argv, workdir, chosen_port, token),
                    cwd=workdir,
                    env=full_env,
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            try:
                url = _wait_for_server(
                    process, runtime_dir, chosen_port, token, log_path, timeout_s
                )
                break
            except RuntimeError:
                _stop_process_group(process)
                # A free port can be taken between probing and binding (xdist workers).
                if attempt < attempts and re.search(
                    r"already in use|not available", _tail(log_path)
                ):
                    continue
                raise
            except BaseException:
                _stop_process_group(process)
                raise
        try:
            yield LabServer(
                url=url,
                token=token,
                root_dir=workdir,
                process=process,
                log_path=log_path,
                startup_s=time.monotonic() - started,
            )
        finally:
            _stop_process_group(process)
    finally:
        shutil.rmtree(state, ignore_errors=True)


def _server_command(
    argv: Sequence[str] | None, workdir: Path, port: int, token: str
) -> list[str]:
    if argv is not None:
        return [item.replace("{port}", str(port)).replace("{token}", token) for item in argv]
    command = [
        sys.executable, "-m", "jupyter", "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",  # a taken port fails here and is retried by us
        f"--ServerApp.root_dir={workdir}",
        f"--IdentityProvider.token={token}",
        # No update check: it would ask a package index, on a closed network.
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")  # containers and CI run as root
    return command


def _wait_for_server(
    process: subprocess.Popen,
    runtime_dir: Path,
    port: int,
    token: str,
    log_path: Path,
    timeout_s: float,
) -> str:
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            raise RuntimeError(
                f"JupyterLab exited with code {process.returncode} before it was ready; "
                f"its log:\n{_tail(log_path)}"
            )
        # The server's own record of where it listens wins over the port we asked for:
        # a wrapper command may pick another one.
        url = _url_from_runtime_file(runtime_dir, token) or f"http://127.0.0.1:{port}/"
        with contextlib.suppress(OSError, ValueError):
            _get_json(f"{url}api/status", token, timeout_s=2)
            return url
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"JupyterLab did not answer {url}api/status within {timeout_s:.0f} s; "
                f"its log:\n{_tail(log_path)}"
            )
        time.sleep(POLL_MS / 1000)


def _url_from_runtime_file(runtime_dir: Path, token: str) -> str | None:
    for info_file in sorted(runtime_dir.glob("jpserver-*.json")):
        with contextlib.suppress(OSError, ValueError):
            info = json.loads(info_file.read_text())
            if info.get("token") in ("", token):
                # 127.0.0.1, not the file's "localhost": that may resolve to ::1 first.
                return f"http://127.0.0.1:{info['port']}{info.get('base_url', '/')}"
    return None


def _get_json(url: str, token: str, timeout_s: float) -> object:
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        return json.load(response)


def _tail(log_path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log_path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _descendants(pid: int) -> list[int]:
    """PIDs of all descendants of ``pid`` (from /proc; empty where there is none)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            # The command name (2nd field) may contain spaces: split after its ")".
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _stop_process_group(process: subprocess.Popen) -> None:
    # Kernels are started in sessions of their own, so the group signal misses them;
    # note them now, while they are still the server's children.
    leftovers = _descendants(process.pid)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=STOP_TIMEOUT_S)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    for pid in leftovers:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    # SIGKILL is delivered asynchronously: wait, so "stopped" means stopped on return.
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while any(_running(pid) for pid in leftovers) and time.monotonic() < deadline:
        time.sleep(0.02)


def _running(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie (killed, waiting to be reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


# --------------------------------------------------------------------------- browser


@dataclass
class _PageState:
    screenshot_dir: Path
    deadline: float
    total_timeout_s: float
    shots: list[Path] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)


# Keyed by the page itself, weakly: screenshots() still answers after browser_page ends.
_PAGES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@contextlib.contextmanager
def browser_page(
    screenshot_dir: str | os.PathLike,
    *,
    chromium: str | None = None,
    total_timeout_s: float = TOTAL_TIMEOUT_S,
) -> Iterator:
    """Open a page in headless Chromium for the duration of a ``with`` block.

    Chromium gets :data:`CHROMIUM_FLAGS` and a fresh profile in a temporary directory,
    removed afterwards. When the block ends a screenshot is taken, named ``end`` or,
    if the block raised, ``failure``.

    Args:
        screenshot_dir: where screenshots go (created if needed).
        chromium: the browser binary; :func:`chromium_path` by default.
        total_timeout_s: budget for all waits on this page together.

    Yields:
        A Playwright ``Page`` (sync API).

    Raises:
        RuntimeError: no Chromium was found (the message says how to install one).
    """
    from playwright.sync_api import sync_playwright

    chromium = chromium or chromium_path()
    if chromium is None:
        raise RuntimeError(MISSING_CHROMIUM)
    screenshot_dir = Path(screenshot_dir)
    screenshot_dir.mkdir(parents=True, exist_ok=True)
    profile = tempfile.mkdtemp(prefix="course-chromium-")
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                profile,
                executable_path=chromium,
                headless=True,
                args=list(CHROMIUM_FLAGS),
                viewport=VIEWPORT,
                timeout=START_TIMEOUT_S * 1000,
            )
            try:
                page = context.pages[0] if context.pages else context.new_page()
                page.set_default_timeout(STEP_TIMEOUT_S * 1000)
                state = _PageState(
                    screenshot_dir=screenshot_dir,
                    deadline=time.monotonic() + total_timeout_s,
                    total_timeout_s=total_timeout_s,
                )
                _PAGES[page] = state
                page.on(
                    "console",
                    lambda message: message.type == "error"
                    and state.console_errors.append(message.text),
                )
                failed = True
                try:
                    yield page
                    failed = False
                finally:
                    with contextlib.suppress(Exception):
                        screenshot(page, "failure" if failed else "end")
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def screenshot(page, name: str) -> Path:
    """Save a screenshot of ``page`` as ``NN-<name>.png`` in its screenshot directory."""
    state = _state(page)
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "shot"
    path = state.screenshot_dir / f"{len(state.shots) + 1:02d}-{slug}.png"
    page.screenshot(path=str(path), timeout=STEP_TIMEOUT_S * 1000)
    state.shots.append(path)
    return path


def screenshots(page) -> list[Path]:
    """Paths of the screenshots taken of ``page`` so far, oldest first."""
    return list(_state(page).shots)


def _state(page) -> _PageState:
    try:
        return _PAGES[page]
    except KeyError:
        raise ValueError("page was not opened by browser_page()") from None


def _timeout_ms(page, timeout_s: float) -> float:
    """The step's timeout, cut to what is left of the page's total budget."""
    state = _state(page)
    left = state.deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError(
            f"the browser session used up its total budget of {state.total_timeout_s:.0f} s"
        )
    return min(timeout_s, left) * 1000


@contextlib.contextmanager
def _step(page, name: str) -> Iterator[None]:
    """Name a step; if it fails, screenshot the page and say what was on screen.

    Playwright calls inside the step that take no explicit timeout get the step timeout,
    cut to what is left of the page's total budget.
    """
    try:
        page.set_default_timeout(_timeout_ms(page, STEP_TIMEOUT_S))
        yield
    except Exception as error:
        details = [f"browser step {name!r} failed: {error}"]
        with contextlib.suppress(Exception):
            dialog = page.locator(".jp-Dialog").first
            if dialog.count():
                details.append(f"a dialog is open: {dialog.inner_text(timeout=1000)!r}")
        with contextlib.suppress(Exception):
            details.append(f"screenshot: {screenshot(page, name + '-failed')}")
        errors = _state(page).console_errors[-5:]
        if errors:
            details.append("last browser console errors: " + " | ".join(errors))
        raise AssertionError("\n".join(details)) from error


def _wait(page, js: str, arg: object, timeout_s: float) -> object:
    """Poll ``js(arg)`` in the page until it returns something truthy; return that."""
    handle = page.wait_for_function(
        js, arg=arg, polling=POLL_MS, timeout=_timeout_ms(page, timeout_s)
    )
    return handle.json_value()


# --------------------------------------------------------------------------- JupyterLab

_LAB_READY = """() => !document.querySelector('#jupyterlab-splash')
    && document.querySelector('#jp-menu-panel .lm-MenuBar-item') !== null"""


def open_lab(page, lab: LabServer, timeout_s: float = START_TIMEOUT_S) -> None:
    """Load JupyterLab's main page and wait until it is restored (splash gone, menus up)."""
    with _step(page, "open-lab"):
        page.goto(lab.lab_url(), timeout=_timeout_ms(page, timeout_s))
        _wait(page, _LAB_READY, None, timeout_s)


def open_notebook(page, lab: LabServer, path: str, timeout_s: float = START_TIMEOUT_S):
    """Open ``path`` (relative to the server's root) in JupyterLab, kernel idle.

    Loads ``/lab/tree/<path>``, waits for the notebook's tab, accepts the "Select
    Kernel" dialog (default kernel) if the notebook names no kernel, and waits until
    the kernel is idle.

    Returns:
        A Playwright ``Locator`` of the notebook panel, for the cell functions below.
    """
    with _step(page, f"open-{Path(path).name}"):
        page.goto(lab.lab_url(path), timeout=_timeout_ms(page, timeout_s))
        _wait(page, _LAB_READY, None, timeout_s)
        # The dock tab's tooltip names the path; its data-id is the panel's DOM id.
        panel_id = _wait(
            page,
            """(path) => {
                for (const tab of document.querySelectorAll('#jp-main-dock-panel .lm-TabBar-tab')) {
                    if (tab.title.split('\\n').includes('Path: ' + path)) return tab.dataset.id;
                }
                return null;
            }""",
            path,
            timeout_s,
        )
        notebook = page.locator(f"[id='{panel_id}'].jp-NotebookPanel")
        # Whichever comes first: the kernel is up, or JupyterLab asks which one to start.
        outcome = _wait(
            page,
            f"""(panel) => document.querySelector('.jp-Dialog .jp-Dialog-header')
                    ?.textContent.includes('Select Kernel') ? 'dialog'
                : ({_KERNEL_IDLE})(panel) ? 'idle' : null""",
            notebook.element_handle(),
            timeout_s,
        )
        if outcome == "dialog":
            page.locator(".jp-Dialog .jp-mod-accept").click()
    wait_kernel_idle(notebook, timeout_s)
    return notebook


# The toolbar's execution indicator says "idle" for a moment before any kernel is
# attached, so the kernel name must also be a real one (not "No Kernel").
_KERNEL_IDLE = """(panel) => {
    const name = panel.querySelector('.jp-KernelName')?.textContent.trim() || '';
    const status = panel.querySelector('.jp-Notebook-ExecutionIndicator');
    return name !== '' && name !== 'No Kernel' && status?.dataset.status === 'idle';
}"""


def wait_kernel_idle(notebook, timeout_s: float = RUN_TIMEOUT_S) -> None:
    """Wait until the notebook's kernel is connected and idle (toolbar indicator)."""
    page = notebook.page
    with _step(page, "kernel-idle"):
        _wait(page, _KERNEL_IDLE, notebook.element_handle(), timeout_s)


def _code_cell(notebook, index: int):
    cells = notebook.locator(".jp-Notebook .jp-CodeCell")
    count = cells.count()
    if not 0 <= index < count:
        raise IndexError(f"no code cell {index}: the notebook shows {count} code cells")
    return cells.nth(index)


def run_cell(notebook, index: int, timeout_s: float = RUN_TIMEOUT_S) -> str:
    """Run code cell ``index`` (from 0) and wait until its execution finishes.

    The cell is selected by clicking its prompt and run with Ctrl+Enter
    (``notebook:run-cell``): Shift+Enter would move on, and on the last cell append a
    new one, shifting the indices a test relies on. Execution has finished when the
    prompt shows a new ``[n]:``; by then JupyterLab has received all of the outputs.

    Returns:
        The cell's output text, as :func:`cell_output` reads it.
    """
    page = notebook.page
    with _step(page, f"run-cell-{index}"):
        cell = _code_cell(notebook, index)
        prompt = cell.locator(".jp-InputPrompt")
        before = prompt.inner_text().strip()
        prompt.click()
        _wait(
            page,
            "(cell) => cell.classList.contains('jp-mod-active')",
            cell.element_handle(),
            STEP_TIMEOUT_S,
        )
        page.keyboard.press("ControlOrMeta+Enter")
        try:
            # A kernel restart can reuse a count, so "[*]:" seen once also counts.
            _wait(
                page,
                """([el, before]) => {
                    const seen = (window.__courseBusy ??= new WeakSet());
                    const text = el.textContent.trim();
                    if (text === '[*]:') { seen.add(el); return false; }
                    return /^\\[\\d+\\]:$/.test(text) && (text !== before || seen.has(el));
                }""",
                [prompt.element_handle(), before],
                timeout_s,
            )
        except Exception as error:
            raise AssertionError(
                f"cell {index} did not finish within {timeout_s:.0f} s (prompt before "
                f"{before!r}, now {prompt.inner_text().strip()!r})"
            ) from error
        return cell_output(notebook, index)


def cell_output(notebook, index: int) -> str:
    """Text of code cell ``index``'s outputs as rendered (stdout, stderr, tracebacks).

    Output prompts are left out; outputs are joined with newlines.
    """
    cell = _code_cell(notebook, index)
    texts = cell.locator(".jp-OutputArea-output").all_inner_texts()
    return "\n".join(text.rstrip("\n") for text in texts) + ("\n" if texts else "")


def cell_source(notebook, index: int) -> str:
    """Source of code cell ``index`` as its editor (CodeMirror 6) shows it."""
    return _code_cell(notebook, index).evaluate(_EDITOR_TEXT)


# Each .cm-line is one line; textContent, unlike innerText, adds no newline for a <br>.
_EDITOR_TEXT = """(cell) => [...cell.querySelectorAll('.jp-InputArea-editor .cm-line')]
    .map((line) => line.textContent).join('\\n')"""


def set_cell_source(notebook, index: int, source: str) -> None:
    """Replace code cell ``index``'s source by typing into its editor.

    Clicks into the editor, selects all and inserts ``source`` as one text input:
    key-by-key typing would trigger CodeMirror's auto-indent and bracket closing.
    Leaves the notebook in command mode.
    """
    page = notebook.page
    with _step(page, f"edit-cell-{index}"):
        cell = _code_cell(notebook, index)
        cell.locator(".jp-InputArea-editor .cm-content").click()
        page.keyboard.press("ControlOrMeta+a")
        if source:
            page.keyboard.insert_text(source)
        else:
            page.keyboard.press("Delete")
        try:
            _wait(
                page,
                f"([cell, source]) => ({_EDITOR_TEXT})(cell) === source",
                [cell.element_handle(), source],
                STEP_TIMEOUT_S,
            )
        except Exception as error:
            raise AssertionError(
                f"cell {index} shows {cell_source(notebook, index)!r}, expected {source!r}"
            ) from error
        page.keyboard.press("Escape")  # command mode, so shortcuts reach the notebook


def save_notebook(notebook, timeout_s: float = STEP_TIMEOUT_S) -> None:
    """Save with Ctrl+S and wait until the notebook's tab is no longer marked dirty."""
    page = notebook.page
    with _step(page, "save"):
        notebook.locator(".jp-Notebook").focus()
        page.keyboard.press("ControlOrMeta+s")
        panel_id = notebook.get_attribute("id")
        _wait(
            page,
            """(id) => {
                const tab = document.querySelector(
                    `#jp-main-dock-panel .lm-TabBar-tab[data-id="${id}"]`);
                return tab !== null && !tab.classList.contains('jp-mod-dirty');
            }""",
            panel_id,
            timeout_s,
        )


def toolbar_items(notebook) -> list[str]:
    """Labels of the notebook toolbar's items that show text (e.g. "Validate")."""
    return [
        text.strip()
        for text in notebook.locator(
            ".jp-NotebookPanel-toolbar .jp-Toolbar-item:not(.lm-mod-hidden) "
            ".jp-ToolbarButtonComponent-label"
        ).all_inner_texts()
        if text.strip()
    ]


def menu_titles(page) -> list[str]:
    """Titles of the visible top menus ("File", "Edit", ...)."""
    return page.locator(
        "#jp-menu-panel .lm-MenuBar-item:not(.lm-mod-hidden) .lm-MenuBar-itemLabel"
    ).all_inner_texts()


def menu_items(page, title: str) -> list[str]:
    """Labels of the visible entries of top menu ``title``; the menu is closed again."""
    with _step(page, f"menu-{title}"):
        page.locator("#jp-menu-panel .lm-MenuBar-item", has_text=re.compile(
            rf"^{re.escape(title)}$"
        )).click()
        menu = page.locator(".lm-Menu").last
        menu.wait_for(timeout=_timeout_ms(page, STEP_TIMEOUT_S))
        labels = menu.locator(
            ".lm-Menu-item:not(.lm-mod-hidden) .lm-Menu-itemLabel"
        ).all_inner_texts()
        page.keyboard.press("Escape")
        return [label for label in labels if label]


def palette_commands(page, query: str) -> list[str]:
    """Labels of the commands JupyterLab's command palette lists for ``query``.

    Opens the palette with Ctrl+Shift+C, types ``query`` and closes it again. Commands
    exist only for loaded plugins, so this sees through hidden menus. Disabled commands
    are included, although JupyterLab's style does not display them.
    """
    with _step(page, f"palette-{query}"):
        page.keyboard.press("Escape")
        page.keyboard.press("ControlOrMeta+Shift+c")
        palette = page.locator(".lm-CommandPalette-input")
        palette.wait_for(timeout=_timeout_ms(page, STEP_TIMEOUT_S))
        items = page.locator(".lm-CommandPalette-item:not(.lm-mod-hidden)")
        # Wait for the unfiltered list first: before it renders, "no match" is vacuous.
        items.first.wait_for(state="attached", timeout=_timeout_ms(page, STEP_TIMEOUT_S))
        palette.fill(query)
        # Lumino renders the filtered list in its next animation frame; wait for two.
        page.evaluate(
            "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"
        )
        labels = items.locator(".lm-CommandPalette-itemLabel").all_inner_texts()
        palette.fill("")
        page.keyboard.press("Escape")
        return labels


def sidebar_tabs(page, side: str = "left") -> list[str]:
    """Titles of the visible tabs of the ``"left"`` or ``"right"`` side bar.

    A tab's title is its label where it shows one (nbgrader's "Create Assignment"),
    else its tooltip without the shortcut ("File Browser (Ctrl+Shift+F)" gives
    "File Browser").
    """
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', not {side!r}")
    return page.evaluate(
        """(side) => [...document.querySelectorAll(
                `.jp-SideBar.jp-mod-${side} .lm-TabBar-tab:not(.lm-mod-hidden)`)]
            .map((tab) => tab.querySelector('.lm-TabBar-tabLabel')?.textContent.trim()
                || tab.title.replace(/\\s+\\([^()]*\\)$/, '').trim())""",
        side,
    )
