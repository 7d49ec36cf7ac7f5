"""Fetch source files over HTTP: resume, retries, checksums, mirrors, offline use.

``requests`` does the HTTP; this module adds what neither it nor pooch offers in one
place: resuming a dropped transfer with an HTTP ``Range`` request, bounded retries with
exponential backoff, mirror fallback, Google Drive's "can't scan this file" confirm page,
size and SHA-256 verification, and an atomic rename of the finished file. A file that is
already at its destination is verified and used without any network access, which is how
the workflow runs offline: place the files where :func:`offline_hint` says.
"""

from __future__ import annotations

import hashlib
import html.parser
import logging
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import requests
from tqdm.auto import tqdm

log = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 20
# a dropped connection loses at most the chunk being read, so stream in small chunks
STREAM_CHUNK_BYTES = 64 << 10
USER_AGENT = "claire-bench-downloader/0.1 (python-requests)"
PART_SUFFIX = ".part"
LFS_POINTER_PREFIX = b"version https://git-lfs.github.com/spec/"
_MAX_CONFIRM_HOPS = 3
_MAX_HTML_BYTES = 2 << 20
_RETRYABLE_STATUS = {408, 425, 429}


class DownloadError(RuntimeError):
    """A file could not be obtained from any of its URLs."""


class ChecksumError(DownloadError):
    """Downloaded or placed bytes do not match the expected size or SHA-256 digest."""


class SourceUnreachableError(DownloadError):
    """No URL of a file could be reached (no network); the message says where to place it."""


@dataclass(frozen=True)
class RemoteFile:
    """One file to fetch: its local name, URLs (primary first, then mirrors), checksums."""

    filename: str
    urls: tuple[str, ...]
    sha256: str | None = None
    size: int | None = None

    def __post_init__(self) -> None:
        if not self.filename or Path(self.filename).name != self.filename:
            raise ValueError(f"filename must be a plain file name, got {self.filename!r}")
        if self.sha256 is not None and not re.fullmatch(r"[0-9a-f]{64}", self.sha256):
            raise ValueError(f"{self.filename}: sha256 must be 64 lowercase hex digits")
        if self.size is not None and self.size < 0:
            raise ValueError(f"{self.filename}: size must be >= 0")

    @classmethod
    def from_config(cls, role: str, spec: Mapping) -> RemoteFile:
        """Build from a config entry ``{urls: [...], sha256, size, filename}``."""
        urls = tuple(spec.get("urls") or ())
        filename = spec.get("filename") or (_url_basename(urls[0]) if urls else "")
        if not filename:
            raise ValueError(f"file {role!r}: give a filename or at least one URL")
        return cls(filename, urls, spec.get("sha256"), spec.get("size"))


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds of one fetch: attempts per URL, backoff between them, socket timeouts."""

    attempts: int = 5
    backoff_s: float = 2.0
    max_backoff_s: float = 60.0
    connect_timeout_s: float = 20.0
    read_timeout_s: float = 120.0

    @classmethod
    def from_config(cls, spec: Mapping | None) -> RetryPolicy:
        """Build from the config's ``download`` section (missing keys keep defaults)."""
        spec = dict(spec or {})
        unknown = set(spec) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown download settings: {sorted(unknown)}")
        return cls(**spec)

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1))


@dataclass(frozen=True)
class Fetched:
    """A verified local file and where its bytes came from (a URL or ``"local"``)."""

    path: Path
    sha256: str
    size: int
    source: str


class _Retryable(Exception):
    """A transient failure: try the same URL again after a pause."""

    def __init__(self, message: str, reached: bool) -> None:
        super().__init__(message)
        self.reached = reached


class _Unusable(Exception):
    """A permanent failure of one URL: move on to the next mirror."""


class _Redirect(Exception):
    """The URL answered with a confirm page; fetch ``url`` instead."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


def remote_files(source: Mapping) -> dict[str, RemoteFile]:
    """The files of a ``source: {type: download, files: {role: spec}}`` config entry."""
    files = source.get("files") or {}
    if not files:
        raise ValueError("a download source needs at least one entry under 'files'")
    return {role: RemoteFile.from_config(role, spec) for role, spec in files.items()}


def remote_file_named(source: Mapping, filename: str) -> RemoteFile:
    """The file of a download source whose local name is ``filename``."""
    for remote in remote_files(source).values():
        if remote.filename == filename:
            return remote
    raise ValueError(f"no file named {filename!r} in this download source")


def source_paths(source: Mapping, folder: str | os.PathLike) -> dict[str, Path]:
    """Where each file of a download source lives once fetched, by role."""
    return {role: Path(folder) / rf.filename for role, rf in remote_files(source).items()}


def sha256_of(path: str | os.PathLike) -> str:
    """Hex SHA-256 digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK_BYTES), b""):
            digest.update(block)
    return digest.hexdigest()


def offline_hint(remote: RemoteFile, target: Path) -> str:
    """Instruction for running without network: which file to place where."""
    pins = []
    if remote.size is not None:
        pins.append(f"{remote.size} bytes")
    if remote.sha256:
        pins.append(f"sha256 {remote.sha256}")
    pin = f" ({', '.join(pins)})" if pins else ""
    urls = "\n".join(f"  {url}" for url in remote.urls) or "  (no URL configured)"
    return (
        f"To run offline, download {remote.filename!r}{pin} from one of\n{urls}\n"
        f"and place it at {target.resolve()}"
    )


def fetch(
    remote: RemoteFile,
    folder: str | os.PathLike,
    policy: RetryPolicy | None = None,
    session: requests.Session | None = None,
    progress: bool = True,
) -> Fetched:
    """Make ``folder/remote.filename`` exist with verified content and return it.

    An existing file is verified and used without touching the network. Otherwise the
    URLs are tried in order; each gets ``policy.attempts`` attempts, and an interrupted
    transfer resumes from the bytes already in ``<filename>.part``. The finished file is
    verified (size, SHA-256 when configured) and renamed into place atomically. A digest
    mismatch deletes the partial file and raises :class:`ChecksumError`.
    """
    policy = policy or RetryPolicy()
    target = Path(folder) / remote.filename
    if target.exists():
        digest = _verify(target, remote, what=f"the file already at {target}")
        log.info(
            "%s: using the file already present, sha256 %s (no network access)", target, digest
        )
        return Fetched(target, digest, target.stat().st_size, "local")
    if not remote.urls:
        raise SourceUnreachableError(
            f"{remote.filename}: no URL configured.\n" + offline_hint(remote, target)
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + PART_SUFFIX)
    own_session = session is None
    session = session or _new_session()
    try:
        return _fetch_from_urls(remote, target, part, policy, session, progress)
    finally:
        if own_session:
            session.close()


def fetch_all(
    files: Mapping[str, RemoteFile],
    folder: str | os.PathLike,
    policy: RetryPolicy | None = None,
    session: requests.Session | None = None,
    progress: bool = True,
) -> dict[str, Fetched]:
    """Fetch every file (by role) into ``folder``; see :func:`fetch`."""
    return {
        role: fetch(remote, folder, policy=policy, session=session, progress=progress)
        for role, remote in files.items()
    }


def fetch_source(
    source: Mapping,
    folder: str | os.PathLike,
    policy: RetryPolicy | None = None,
    progress: bool = True,
) -> dict[str, dict]:
    """Fetch every file of a ``type: download`` source; return a manifest by role.

    The manifest records, per role, the file name, size, SHA-256 and where the bytes came
    from, so that a first download of a file without a configured digest documents it.
    """
    fetched = fetch_all(remote_files(source), folder, policy=policy, progress=progress)
    return {
        role: {"filename": f.path.name, "size": f.size, "sha256": f.sha256, "source": f.source}
        for role, f in fetched.items()
    }


def _fetch_from_urls(
    remote: RemoteFile,
    target: Path,
    part: Path,
    policy: RetryPolicy,
    session: requests.Session,
    progress: bool,
) -> Fetched:
    failures: list[str] = []
    checksum_failure: ChecksumError | None = None
    reached_any = False
    for url in remote.urls:
        done, reached = _download_with_retries(
            url, part, remote, policy, session, progress, failures
        )
        reached_any = reached_any or reached
        if not done:
            continue
        if _is_lfs_pointer(part):
            part.unlink()
            failures.append(f"{url}: served a Git LFS pointer, not the file it points to")
            log.warning("%s: served a Git LFS pointer instead of the file", url)
            continue
        try:
            digest = _verify(part, remote, what=f"the download from {url}")
        except ChecksumError as exc:
            part.unlink(missing_ok=True)
            checksum_failure = exc
            failures.append(f"{url}: {exc}")
            log.error("%s", exc)
            continue
        if remote.sha256 is None:
            log.warning(
                "%s: no sha256 configured; the downloaded file has sha256 %s (%d bytes). "
                "Add it to the config to pin this file.",
                remote.filename,
                digest,
                part.stat().st_size,
            )
        os.replace(part, target)
        log.info("%s: saved from %s", target, url)
        return Fetched(target, digest, target.stat().st_size, url)
    details = "\n".join(f"  - {line}" for line in failures)
    hint = offline_hint(remote, target)
    if checksum_failure is not None:
        raise ChecksumError(f"{checksum_failure}\nAll sources failed:\n{details}\n{hint}")
    if not reached_any:
        raise SourceUnreachableError(
            f"{remote.filename}: no source could be reached (no network?).\n{details}\n{hint}"
        )
    raise DownloadError(f"{remote.filename}: every source failed.\n{details}\n{hint}")


def _download_with_retries(
    url: str,
    part: Path,
    remote: RemoteFile,
    policy: RetryPolicy,
    session: requests.Session,
    progress: bool,
    failures: list[str],
) -> tuple[bool, bool]:
    """Try one URL up to ``policy.attempts`` times; return (completed, server_reached)."""
    current, hops, reached = url, 0, False
    attempt = 0
    while attempt < policy.attempts:
        attempt += 1
        try:
            _download_once(current, part, remote, policy, session, progress)
            return True, True
        except _Redirect as redirect:
            reached = True
            hops += 1
            if hops > _MAX_CONFIRM_HOPS:
                failures.append(f"{url}: too many confirm pages")
                return False, reached
            log.info("%s: following the download confirm page", remote.filename)
            current = redirect.url
            attempt -= 1  # following a confirm page is not a failed attempt
        except _Unusable as exc:
            failures.append(f"{url}: {exc}")
            log.warning("%s: %s; trying the next source", url, exc)
            return False, True
        except _Retryable as exc:
            reached = reached or exc.reached
            if attempt >= policy.attempts:
                failures.append(f"{url}: {exc} (gave up after {attempt} attempts)")
                log.warning("%s: %s; giving up on this source", url, exc)
                break
            pause = policy.delay(attempt)
            log.warning(
                "%s: %s; retry %d/%d in %.1fs", url, exc, attempt, policy.attempts - 1, pause
            )
            time.sleep(pause)
    return False, reached


def _download_once(
    url: str,
    part: Path,
    remote: RemoteFile,
    policy: RetryPolicy,
    session: requests.Session,
    progress: bool,
) -> None:
    """One HTTP request: start or resume ``part``; raise a classified failure."""
    offset = part.stat().st_size if part.exists() else 0
    if remote.size is not None and offset > remote.size:
        part.unlink()
        offset = 0
    if remote.size is not None and offset == remote.size and offset > 0:
        return
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    timeout = (policy.connect_timeout_s, policy.read_timeout_s)
    try:
        response = session.get(url, headers=headers, stream=True, timeout=timeout)
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise _Retryable(f"cannot connect ({type(exc).__name__})", reached=False) from exc
    with response:
        if response.status_code == 416 and _content_range_total(response) == offset:
            return  # the partial file already holds every byte
        total = _check_response(response, part, offset, remote)
        mode = "ab" if response.status_code == 206 else "wb"
        if mode == "wb" and offset:
            log.info("%s: server ignored the Range request; restarting from byte 0", url)
            offset = 0
        log.info(
            "%s: fetching from %s (%s bytes%s)",
            remote.filename,
            url,
            "?" if total is None else total,
            f", resuming at byte {offset}" if offset else "",
        )
        _stream_to(response, part, mode, offset, total, remote.filename, progress)
    got = part.stat().st_size
    if total is not None and got < total:
        raise _Retryable(f"connection closed after {got} of {total} bytes", reached=True)


def _check_response(
    response: requests.Response, part: Path, offset: int, remote: RemoteFile
) -> int | None:
    """Classify the status and headers; return the full file size when known."""
    status = response.status_code
    if status == 416:
        part.unlink(missing_ok=True)
        raise _Retryable("range not satisfiable; restarting from byte 0", reached=True)
    if status in _RETRYABLE_STATUS or status >= 500:
        raise _Retryable(f"HTTP {status}", reached=True)
    if status >= 400:
        raise _Unusable(f"HTTP {status}")
    if _is_html(response) and not remote.filename.lower().endswith((".html", ".htm")):
        page = response.raw.read(_MAX_HTML_BYTES, decode_content=True).decode("utf-8", "replace")
        confirm = drive_confirm_url(page, response.url, response.cookies)
        if confirm:
            raise _Redirect(confirm)
        raise _Unusable(
            "the server sent an HTML page instead of the file "
            "(a login, quota or bot-check page); download it in a browser instead"
        )
    if status == 206:
        start = _content_range_start(response)
        if start != offset:
            part.unlink(missing_ok=True)
            raise _Retryable(f"server resumed at byte {start}, not {offset}", reached=True)
        total = _content_range_total(response)
    else:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
    if remote.size is not None and total is not None and total != remote.size:
        raise _Unusable(f"server reports {total} bytes, expected {remote.size}")
    return total


def _stream_to(
    response: requests.Response,
    part: Path,
    mode: str,
    offset: int,
    total: int | None,
    name: str,
    progress: bool,
) -> None:
    bar = tqdm(
        total=total,
        initial=offset,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=name,
        disable=not progress,
        mininterval=1.0,
    )
    try:
        with open(part, mode) as fh:
            for chunk in response.iter_content(STREAM_CHUNK_BYTES):
                fh.write(chunk)
                bar.update(len(chunk))
    except (
        requests.ConnectionError,
        requests.Timeout,
        requests.exceptions.ChunkedEncodingError,
    ) as exc:
        got = part.stat().st_size if part.exists() else 0
        raise _Retryable(
            f"connection dropped after {got} bytes ({type(exc).__name__})", reached=True
        ) from exc
    finally:
        bar.close()


def _verify(path: Path, remote: RemoteFile, what: str) -> str:
    """Check size and SHA-256 of ``path``; return its digest or raise ChecksumError."""
    size = path.stat().st_size
    if remote.size is not None and size != remote.size:
        raise ChecksumError(
            f"{remote.filename}: size mismatch for {what}: expected {remote.size} bytes, got {size}"
        )
    digest = sha256_of(path)
    if remote.sha256 is not None and digest != remote.sha256:
        raise ChecksumError(
            f"{remote.filename}: sha256 mismatch for {what}:\n"
            f"  expected {remote.sha256}\n  actual   {digest}"
        )
    return digest


def drive_confirm_url(
    page: str, page_url: str, cookies: Mapping[str, str] | None = None
) -> str | None:
    """The real download URL behind a Google Drive "can't scan for viruses" page, if any.

    Handles the current page (a ``download-form`` whose hidden inputs carry ``confirm``
    and ``uuid``), the older page (a link with ``confirm=<token>``) and the oldest scheme
    (a ``download_warning*`` cookie whose value is the token).
    """
    parser = _ConfirmPageParser()
    parser.feed(page)
    for action, fields in parser.forms:
        if action and ("confirm" in fields or "download" in action):
            url = urljoin(page_url, action)
            return _with_query(url, fields)
    for href in parser.links:
        if "confirm=" in href:
            return urljoin(page_url, href)
    for name, value in (cookies or {}).items():
        if name.startswith("download_warning"):
            return _with_query(page_url, {"confirm": value})
    return None


class _ConfirmPageParser(html.parser.HTMLParser):
    """Collects forms (action and hidden inputs) and link targets of an HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[tuple[str, dict[str, str]]] = []
        self.links: list[str] = []
        self._form: tuple[str, dict[str, str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {key: value or "" for key, value in attrs}
        if tag == "form":
            self._form = (attr.get("action", ""), {})
            self.forms.append(self._form)
        elif tag == "input" and self._form is not None and attr.get("name"):
            if attr.get("type", "text").lower() == "hidden":
                self._form[1][attr["name"]] = attr.get("value", "")
        elif tag == "a" and attr.get("href"):
            self.links.append(attr["href"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None


def _with_query(url: str, params: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update(params)
    return urlunsplit(parts._replace(query=urlencode(query)))


def _is_lfs_pointer(path: Path) -> bool:
    """True for a Git LFS pointer file (what raw.githubusercontent.com serves for LFS data)."""
    if path.stat().st_size > 1024:
        return False
    return path.read_bytes().startswith(LFS_POINTER_PREFIX)


def _is_html(response: requests.Response) -> bool:
    return response.headers.get("Content-Type", "").lower().startswith("text/html")


def _content_range_start(response: requests.Response) -> int | None:
    match = re.match(r"bytes (\d+)-\d+/", response.headers.get("Content-Range", ""))
    return int(match.group(1)) if match else None


def _content_range_total(response: requests.Response) -> int | None:
    match = re.search(r"/(\d+)\s*$", response.headers.get("Content-Range", ""))
    return int(match.group(1)) if match else None


def _url_basename(url: str) -> str:
    return Path(urlsplit(url).path).name


def _new_session() -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    return session
