"""Run artefacts beyond this host: a shared folder or any fsspec URL (``METALEARN_ARTIFACTS``).

A run always trains into its local folder (``<home>/runs/<id>/``, where its worker lock and log
are). With ``METALEARN_ARTIFACTS`` set, the worker pushes the folder's files (the saved models,
``evaluation.json``, ``config.json``, the log) to ``<url>/runs/<id>/`` when the run ends, and any
host that reads an ended run whose files it does not have pulls them once. So a Dask worker on
another machine and the app share models through, say, ``s3://bucket/metalearn``, an NFS folder
or ``file:///srv/metalearn``; without the setting nothing changes.

Example:
    >>> artifacts = open_artifacts("file:///srv/metalearn-artifacts")  # doctest: +SKIP
    >>> artifacts.push(3, Path("~/.metalearn/runs/3").expanduser())  # doctest: +SKIP
"""

from __future__ import annotations

import shutil
from pathlib import Path

PUSHED = ".artifacts-synced"  # in a local run folder: its files and the remote copy agree
SKIPPED = {"worker.lock", PUSHED}  # host-local files that are never copied


class ArtifactError(RuntimeError):
    """The artefact location cannot be used; the message says why."""


class Artifacts:
    """A remote folder of run folders, reached through fsspec."""

    def __init__(self, url: str) -> None:
        try:
            import fsspec  # optional: fsspec, needed only for a remote artefact folder
        except ImportError:
            raise ArtifactError("METALEARN_ARTIFACTS needs fsspec: pip install fsspec") from None
        if "://" not in url:  # a plain path is a shared folder
            url = "file://" + str(Path(url).expanduser().resolve())
        self.url = url.rstrip("/")
        try:
            self.fs, self.root = fsspec.core.url_to_fs(self.url)
        except (ImportError, ValueError) as error:
            raise ArtifactError(f"METALEARN_ARTIFACTS={url!r} cannot be opened: {error}") from None
        self.fs.makedirs(self.root, exist_ok=True)

    def describe(self) -> str:
        return self.url

    def _remote(self, run_id: int) -> str:
        return f"{self.root}/runs/{run_id}"

    def push(self, run_id: int, folder: Path) -> int:
        """Copy the run's local files to the remote folder; returns how many were copied."""
        remote = self._remote(run_id)
        copied = 0
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file() and path.name not in SKIPPED:
                target = f"{remote}/{path.relative_to(folder).as_posix()}"
                self.fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
                self.fs.put_file(str(path), target)
                copied += 1
        (Path(folder) / PUSHED).write_text(str(copied))
        return copied

    def pull(self, run_id: int, folder: Path) -> int:
        """Copy the remote files of an ended run into its local folder, once; returns how many."""
        folder = Path(folder)
        if (folder / PUSHED).exists():
            return 0
        remote = self._remote(run_id)
        copied = 0
        for path in self.fs.find(remote) if self.fs.exists(remote) else []:  # none: it died before pushing
            relative = path[len(remote):].lstrip("/")
            target = folder / relative
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                self.fs.get_file(path, str(target))
                copied += 1
        folder.mkdir(parents=True, exist_ok=True)
        (folder / PUSHED).write_text(str(copied))
        return copied

    def delete(self, run_id: int) -> None:
        remote = self._remote(run_id)
        if self.fs.exists(remote):
            self.fs.rm(remote, recursive=True)


def open_artifacts(url: str | None) -> Artifacts | None:
    """The artefact location ``url`` names, or None (run folders stay on this host only)."""
    return Artifacts(url) if url else None


def copy_folder(source: Path, target: Path) -> None:
    """Copy a run folder (for ``store copy``), leaving out host-local files."""
    shutil.copytree(source, target, dirs_exist_ok=True, ignore=lambda _, names: [n for n in names if n in SKIPPED])
