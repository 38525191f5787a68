"""Where MASSIVE comes from: the official download, a local tarball or a folder of JSON lines.

Every command that takes ``--data`` accepts a tarball, a folder of ``<locale>.jsonl`` files, or
``massive`` (the copy that ``polynlu data fetch massive`` put in the cache). Tarballs are
extracted once into the cache, so a second run starts at once.

The cache cannot be left half-written: every copy is built in a scratch folder of its own,
checked, given a manifest of its files and sizes, and only then renamed into place, under a
lock, so concurrent fetches end with one complete copy and a failed fetch leaves the previous
copy as it was. A copy whose files no longer match its manifest is refused on use.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from filelock import FileLock
from rich.progress import (
    BarColumn,
    DownloadColumn,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from polynlu.errors import PolynluError
from polynlu.progress import LoggedProgress

MASSIVE_URL = (
    "https://amazon-massive-nlu-dataset.s3.amazonaws.com/amazon-massive-dataset-1.1.tar.gz"
)
CACHE_ENV = "POLYNLU_CACHE"
FETCHED_NAME = "massive"
_TARBALL_SUFFIXES = (".tar.gz", ".tgz", ".tar")
_SOURCE_RECORD = "source.json"


def cache_dir() -> Path:
    """``$POLYNLU_CACHE``, else ``$XDG_CACHE_HOME/polynlu``, else ``~/.cache/polynlu``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "polynlu"


def is_tarball(path: Path) -> bool:
    return path.is_file() and path.name.endswith(_TARBALL_SUFFIXES)


def find_jsonl_folder(root: Path) -> Path:
    """The folder under ``root`` that holds the ``<locale>.jsonl`` files (MASSIVE nests them)."""
    if any(root.glob("*.jsonl")):
        return root
    found = sorted({p.parent for p in root.rglob("*.jsonl")}, key=lambda p: len(p.parts))
    if not found:
        raise PolynluError(f"no <locale>.jsonl files in {root}")
    return found[0]


def _check_member(member: tarfile.TarInfo, destination: Path) -> None:
    name = PurePosixPath(member.name)
    unsafe = (
        name.is_absolute()
        or ".." in name.parts
        or not (member.isfile() or member.isdir())
        or not (destination / name).resolve().is_relative_to(destination.resolve())
    )
    if unsafe:
        kind = "link" if member.issym() or member.islnk() else "entry"
        raise PolynluError(
            f"refusing to extract the archive: {kind} '{member.name}' would be written outside "
            "its folder or is not a plain file"
        )


def _scratch_beside(destination: Path) -> Path:
    """A new, empty folder next to ``destination``, private to this call."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{destination.name}.partial-", dir=destination.parent))


def _extract_into(archive_path: Path, scratch: Path) -> None:
    """Extract a tarball into ``scratch``, refusing absolute paths, '..', links and devices."""
    try:
        with tarfile.open(archive_path, "r:*") as archive:
            members = archive.getmembers()
            for member in members:
                _check_member(member, scratch)
            archive.extractall(scratch, members=members, filter="data")
    except (tarfile.TarError, OSError, EOFError) as error:
        raise PolynluError(f"cannot extract {archive_path}: {error}") from error


@contextmanager
def _locked(destination: Path) -> Iterator[None]:
    """Hold the lock of one cache entry: one process at a time builds or replaces it."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(destination.with_name(destination.name + ".lock"))):
        yield


def _publish(scratch: Path, destination: Path, source: str) -> None:
    """Check ``scratch`` (it must hold ``<locale>.jsonl`` files), write its manifest, and
    swap it in for ``destination``. Called with the entry's lock held; on any failure the
    scratch folder goes and ``destination`` is untouched."""
    try:
        folder = find_jsonl_folder(scratch)
        files = {
            str(path.relative_to(scratch)): path.stat().st_size
            for path in sorted(folder.glob("*.jsonl"))
        }
        manifest = {"source": source, "files": files}
        (scratch / _SOURCE_RECORD).write_text(json.dumps(manifest, indent=1), "utf-8")
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    retired = destination.with_name(f"{destination.name}.old-{os.getpid()}")
    if destination.exists():
        destination.rename(retired)
    scratch.rename(destination)
    shutil.rmtree(retired, ignore_errors=True)


def _complete(destination: Path) -> bool:
    """Whether ``destination`` holds every file its manifest lists, at the listed size."""
    try:
        manifest = json.loads((destination / _SOURCE_RECORD).read_text("utf-8"))
        files = manifest["files"]
        return bool(files) and all(
            (destination / name).is_file() and (destination / name).stat().st_size == size
            for name, size in files.items()
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def safe_extract(archive_path: Path, destination: Path, *, source: str | None = None) -> None:
    """Extract a tarball into ``destination`` (see the module's note: scratch, check, manifest,
    rename), refusing absolute paths, '..', links and devices."""
    scratch = _scratch_beside(destination)
    try:
        _extract_into(archive_path, scratch)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    _publish(scratch, destination, source or str(archive_path))


def _fingerprint(path: Path) -> str:
    stat = path.stat()
    key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    return hashlib.sha1(key.encode()).hexdigest()[:12]


def extracted_tarball(archive_path: Path) -> Path:
    """The jsonl folder of ``archive_path``, extracting it into the cache on first use."""
    name = archive_path.name
    for suffix in _TARBALL_SUFFIXES:
        name = name.removesuffix(suffix)
    destination = cache_dir() / "extracted" / f"{name}-{_fingerprint(archive_path)}"
    if not _complete(destination):
        with _locked(destination):
            if not _complete(destination):  # another process may have finished it meanwhile
                safe_extract(archive_path, destination)
    return find_jsonl_folder(destination)


def resolve_data(spec: str | Path) -> Path:
    """Turn a ``--data`` value into the folder that holds the ``<locale>.jsonl`` files."""
    if str(spec) == FETCHED_NAME:
        fetched = cache_dir() / FETCHED_NAME
        if not (fetched / _SOURCE_RECORD).is_file():
            raise PolynluError(
                "MASSIVE has not been fetched yet: run `polynlu data fetch massive` "
                "(add --source PATH to use a local copy), or pass --data PATH"
            )
        if not _complete(fetched):
            raise PolynluError(
                f"the fetched copy of MASSIVE in {fetched} is incomplete (its files do not "
                "match its manifest): run `polynlu data fetch massive --force`"
            )
        return find_jsonl_folder(fetched)
    path = Path(spec).expanduser()
    if not path.exists():
        raise PolynluError(
            f"data '{spec}' not found: pass a MASSIVE tarball, a folder of <locale>.jsonl files, "
            "or 'massive' for the fetched copy"
        )
    if path.is_dir():
        return find_jsonl_folder(path)
    if is_tarball(path):
        return extracted_tarball(path)
    raise PolynluError(
        f"data '{spec}' is neither a folder nor a tarball ({', '.join(_TARBALL_SUFFIXES)})"
    )


def download(url: str, target: Path, *, show_progress: bool = True) -> Path:
    """Stream ``url`` to ``target`` with a progress bar; the file appears only when complete."""
    partial = target.with_name(target.name + ".partial")
    target.parent.mkdir(parents=True, exist_ok=True)
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    try:
        with (
            urllib.request.urlopen(url, timeout=60) as response,
            partial.open("wb") as sink,
            LoggedProgress(*columns, disable=not show_progress) as progress,
        ):
            length = response.headers.get("Content-Length")
            task = progress.add_task(f"Downloading {target.name}", total=int(length or 0) or None)
            while chunk := response.read(1 << 20):
                sink.write(chunk)
                progress.advance(task, len(chunk))
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        partial.unlink(missing_ok=True)
        raise PolynluError(
            f"could not download {url}: {error}. Without internet access, pass --source with a "
            "local copy of the tarball or a folder of <locale>.jsonl files"
        ) from error
    partial.rename(target)
    return target


def fetch_massive(
    source: str | Path | None = None, *, force: bool = False, show_progress: bool = True
) -> Path:
    """Put MASSIVE in the cache from the official URL, another URL, a tarball or a folder.

    Returns the jsonl folder. A second call with the same source (or none) returns at once.
    """
    destination = cache_dir() / FETCHED_NAME
    wanted = None if source is None else str(source)
    if wanted is not None and not wanted.startswith(("http://", "https://")):
        wanted = str(Path(wanted).expanduser().resolve())
    if not force and _fetched_from(destination, wanted):
        return find_jsonl_folder(destination)
    # No source named: fetch again from where the copy in place came from, if from anywhere.
    wanted = wanted or _recorded_source(destination)
    is_url = wanted is not None and wanted.startswith(("http://", "https://"))
    with _locked(destination):
        origin = wanted or MASSIVE_URL
        if is_url or wanted is None:
            archive = download(
                origin, cache_dir() / "downloads" / Path(origin).name, show_progress=show_progress
            )
            safe_extract(archive, destination, source=origin)
        else:
            local = Path(origin)
            if not local.exists():
                raise PolynluError(f"source '{source}' not found")
            if local.is_dir():
                folder = find_jsonl_folder(local)
                scratch = _scratch_beside(destination)
                (scratch / "data").mkdir()
                for file in sorted(folder.glob("*.jsonl")):
                    shutil.copy2(file, scratch / "data" / file.name)
                _publish(scratch, destination, origin)
            elif is_tarball(local):
                safe_extract(local, destination, source=origin)
            else:
                raise PolynluError(f"source '{source}' is neither a folder nor a tarball")
    return find_jsonl_folder(destination)


def _fetched_from(destination: Path, wanted: str | None) -> bool:
    """Whether a complete copy is in place from ``wanted`` (None: from any source)."""
    return _complete(destination) and wanted in (None, _recorded_source(destination))


def _recorded_source(destination: Path) -> str | None:
    try:
        source = json.loads((destination / _SOURCE_RECORD).read_text("utf-8")).get("source")
    except (OSError, ValueError, AttributeError):
        return None
    return source if isinstance(source, str) else None
