"""Where MASSIVE comes from: the official download, a local tarball or a folder of JSON lines.

Every command that takes ``--data`` accepts a tarball, a folder of ``<locale>.jsonl`` files, or
``massive`` (the copy that ``polynlu data fetch massive`` put in the cache). Tarballs are
extracted once into the cache, so a second run starts at once.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tarfile
import urllib.error
import urllib.request
from pathlib import Path, PurePosixPath

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


def safe_extract(archive_path: Path, destination: Path) -> None:
    """Extract a tarball, refusing absolute paths, '..', links and devices.

    Extraction goes to a scratch folder that is renamed into place at the end, so an interrupted
    run never leaves a half-extracted cache behind.
    """
    scratch = destination.with_name(destination.name + ".partial")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    try:
        with tarfile.open(archive_path, "r:*") as archive:
            members = archive.getmembers()
            for member in members:
                _check_member(member, scratch)
            archive.extractall(scratch, members=members, filter="data")
    except (tarfile.TarError, OSError, EOFError) as error:
        shutil.rmtree(scratch, ignore_errors=True)
        raise PolynluError(f"cannot extract {archive_path}: {error}") from error
    except PolynluError:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    shutil.rmtree(destination, ignore_errors=True)
    scratch.rename(destination)


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
    if not destination.is_dir():
        destination.parent.mkdir(parents=True, exist_ok=True)
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
    record_path = destination / _SOURCE_RECORD
    wanted = source if source is None else str(source)
    is_url = wanted is not None and wanted.startswith(("http://", "https://"))
    if wanted is not None and not is_url:
        wanted = str(Path(wanted).expanduser().resolve())
    if record_path.is_file() and not force:
        recorded = json.loads(record_path.read_text("utf-8"))
        if wanted is None or recorded.get("source") == wanted:
            return find_jsonl_folder(destination)

    origin = wanted or MASSIVE_URL
    if is_url or wanted is None:
        archive = download(
            origin, cache_dir() / "downloads" / Path(origin).name, show_progress=show_progress
        )
        safe_extract(archive, destination)
    else:
        local = Path(origin)
        if not local.exists():
            raise PolynluError(f"source '{source}' not found")
        if local.is_dir():
            folder = find_jsonl_folder(local)
            scratch = destination.with_name(destination.name + ".partial")
            shutil.rmtree(scratch, ignore_errors=True)
            (scratch / "data").mkdir(parents=True)
            for file in sorted(folder.glob("*.jsonl")):
                shutil.copy2(file, scratch / "data" / file.name)
            shutil.rmtree(destination, ignore_errors=True)
            scratch.rename(destination)
        elif is_tarball(local):
            safe_extract(local, destination)
        else:
            raise PolynluError(f"source '{source}' is neither a folder nor a tarball")
    record_path.write_text(json.dumps({"source": origin}), "utf-8")
    return find_jsonl_folder(destination)
