import http.server
import io
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path
from subprocess import PIPE

import pytest

from polynlu.data import MassiveData, fetch_massive, resolve_data
from polynlu.errors import PolynluError


def make_tarball(folder: Path, target: Path) -> Path:
    with tarfile.open(target, "w:gz") as archive:
        for path in sorted(folder.glob("*.jsonl")):
            archive.add(path, arcname=f"1.1/data/{path.name}")
    return target


def evil_tarball(target: Path, kind: str) -> Path:
    with tarfile.open(target, "w:gz") as archive:
        info = tarfile.TarInfo("1.1/data/en-US.jsonl")
        info.size = 2
        archive.addfile(info, io.BytesIO(b"{}"))
        if kind == "symlink":
            link = tarfile.TarInfo("1.1/data/link")
            link.type = tarfile.SYMTYPE
            link.linkname = "/etc/passwd"
            archive.addfile(link)
        else:
            name = "../escaped.txt" if kind == "dotdot" else "/tmp/absolute.txt"
            info = tarfile.TarInfo(name)
            info.size = 1
            archive.addfile(info, io.BytesIO(b"x"))
    return target


def test_a_tarball_is_extracted_once_into_the_cache(tiny_data: Path, tmp_path: Path) -> None:
    archive = make_tarball(tiny_data, tmp_path / "massive.tar.gz")
    folder = resolve_data(archive)
    assert sorted(p.name for p in folder.glob("*.jsonl"))[0] == "de-DE.jsonl"
    marker = folder / "marker"
    marker.write_text("still here")
    assert resolve_data(str(archive)) == folder and marker.exists()  # no second extraction
    assert MassiveData(archive).locales == ["de-DE", "en-US", "ja-JP", "zh-CN"]


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink"])
def test_unsafe_archives_are_refused(tmp_path: Path, kind: str) -> None:
    archive = evil_tarball(tmp_path / "evil.tar.gz", kind)
    with pytest.raises(PolynluError, match="refusing to extract"):
        resolve_data(archive)
    assert not (tmp_path / "escaped.txt").exists()


def test_missing_and_unsupported_data_are_explained(tmp_path: Path) -> None:
    with pytest.raises(PolynluError, match="not found"):
        resolve_data(tmp_path / "nowhere")
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(PolynluError, match="neither a folder nor a tarball"):
        resolve_data(tmp_path / "notes.txt")
    with pytest.raises(PolynluError, match="has not been fetched"):
        resolve_data("massive")


def test_fetch_from_a_folder_then_use_massive(tiny_data: Path) -> None:
    folder = fetch_massive(tiny_data, show_progress=False)
    assert len(list(folder.glob("*.jsonl"))) == 4
    assert resolve_data("massive") == folder
    assert fetch_massive(show_progress=False) == folder  # re-running is instant


@pytest.fixture
def served(tiny_data: Path, tmp_path: Path) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 serving a MASSIVE-shaped tarball."""
    root = tmp_path / "www"
    root.mkdir()
    make_tarball(tiny_data, root / "amazon-massive-dataset-1.1.tar.gz")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_fetch_downloads_and_extracts(served: str, isolated_cache: Path) -> None:
    url = f"{served}/amazon-massive-dataset-1.1.tar.gz"
    folder = fetch_massive(url, show_progress=False)
    assert (isolated_cache / "downloads" / "amazon-massive-dataset-1.1.tar.gz").is_file()
    assert MassiveData("massive").locales == ["de-DE", "en-US", "ja-JP", "zh-CN"]
    assert fetch_massive(url, show_progress=False) == folder


def test_a_failed_download_says_how_to_work_offline(served: str) -> None:
    with pytest.raises(PolynluError, match="pass --source"):
        fetch_massive(f"{served}/missing.tar.gz", show_progress=False)


def big_tarball(tiny_data: Path, target: Path, locales: int = 52, copies: int = 200) -> Path:
    """A MASSIVE-shaped tarball large enough that extraction takes a while: races show."""
    rows = (tiny_data / "en-US.jsonl").read_bytes() * copies
    with tarfile.open(target, "w") as archive:
        for index in range(locales):
            info = tarfile.TarInfo(f"1.1/data/x{index:02d}-XX.jsonl")
            info.size = len(rows)
            archive.addfile(info, io.BytesIO(rows))
    return target


@pytest.mark.slow
def test_concurrent_forced_fetches_end_with_one_complete_copy(
    tiny_data: Path, tmp_path: Path, isolated_cache: Path
) -> None:
    archive = big_tarball(tiny_data, tmp_path / "big.tar")
    command = [sys.executable, "-m", "polynlu", "data", "fetch", "massive"]
    command += ["--source", str(archive), "--force"]
    runs = [subprocess.Popen(command, stdout=PIPE, stderr=PIPE) for _ in range(4)]
    for run in runs:
        _, stderr = run.communicate(timeout=300)
        assert run.returncode == 0, stderr.decode()
    folder = resolve_data("massive")
    assert len(list(folder.glob("*.jsonl"))) == 52
    sizes = {path.stat().st_size for path in folder.glob("*.jsonl")}
    assert sizes == {(tiny_data / "en-US.jsonl").stat().st_size * 200}
    assert not [p for p in isolated_cache.iterdir() if ".partial" in p.name or ".old" in p.name]


def test_a_failed_fetch_leaves_the_good_copy_alone(tiny_data: Path, tmp_path: Path) -> None:
    good = fetch_massive(tiny_data, show_progress=False)
    empty = tmp_path / "empty.tar.gz"
    with tarfile.open(empty, "w:gz") as archive:
        info = tarfile.TarInfo("README.txt")
        info.size = 2
        archive.addfile(info, io.BytesIO(b"hi"))
    with pytest.raises(PolynluError, match=r"no <locale>\.jsonl files"):
        fetch_massive(empty, force=True, show_progress=False)
    assert resolve_data("massive") == good
    assert MassiveData("massive").locales == ["de-DE", "en-US", "ja-JP", "zh-CN"]


def test_a_copy_that_lost_a_file_is_refused_on_use(tiny_data: Path) -> None:
    folder = fetch_massive(tiny_data, show_progress=False)
    (folder / "ja-JP.jsonl").unlink()
    with pytest.raises(PolynluError, match=r"incomplete .* --force"):
        resolve_data("massive")
    assert fetch_massive(show_progress=False) == folder  # an incomplete copy is fetched again…
    assert (folder / "ja-JP.jsonl").is_file()  # …from the source it came from
