"""The `directory-monitor` connector: keeps open metadata in step with one or more directory trees.

Each root (the connection's endpoint and every catalog target) is catalogued as a FileFolder per
directory, nested by FolderHierarchy, and a DataFile per regular file (CSVFile, JSONFile, ParquetFile...
by extension), nested in its folder by NestedFile, with its size, modification time, type and path.
Qualified names are `file://<absolute path>`, so every refresh upserts the same elements and an unchanged
file costs the repository nothing but a comparison.

refresh() walks every tree with `os.scandir` (one stat per file) and then lets deletion detection archive
the files and folders below each root that the walk did not see; it runs in the refresh's transaction, so
a walk that fails (a root that vanished, an unreadable directory) archives nothing. With
`usesBlockingCalls`, engage() also watches the trees (watchfiles) and applies each batch of changes as one
transaction, returning after each batch or after about a second without one, so the runtime can stop it.
watchfiles is imported by the first engage(), so a runtime that only refreshes does not carry it in memory.

Configuration properties: `includeHidden` (default false), `maxDepth` (directory levels below the root
to descend; absent = no limit; 0 = the root's own files only), `ignorePatterns` (globs matched against a
name and against the path relative to the root). Symbolic links are not followed and not catalogued.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import threading
from collections.abc import Generator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import Field, StrictBool

from metaferry_runtime.sdk import AuditMessage, ConnectorConfiguration, Element, Severity
from metaferry_runtime.sdk.connector import IntegrationConnector
from metaferry_runtime.sdk.contexts import ElementUpsert
from metaferry_runtime.sdk.contexts.files import (
    FILE_TYPE_NAMES,
    FILE_URI_PREFIX,
    FilesIntegratorContext,
    data_file_type_for,
    file_qualified_name,
)
from metaferry_runtime.sdk.errors import ConnectorConfigurationError, ConnectorError

if TYPE_CHECKING:
    import watchfiles

#: How long one engage() waits for file-system events before returning, in milliseconds.
WATCH_TIMEOUT_MS = 1000
#: How long watchfiles gathers a burst of changes into one batch, in milliseconds.
WATCH_DEBOUNCE_MS = 400


def _name(path: str) -> str:
    """The qualified name of a path the walk produced (absolute and normalised already)."""
    return FILE_URI_PREFIX + path if os.sep == "/" else file_qualified_name(path)


def _message(number: int, severity: Severity, template: str, system_action: str, user_action: str) -> AuditMessage:
    return AuditMessage(f"METAFERRY-DIRECTORY-MONITOR-{number:04d}", severity, template, system_action, user_action)


class DirectoryMonitorMessages:
    WATCHING = _message(
        1,
        Severity.STARTUP,
        "Connector {connector_name} catalogs {roots}",
        "Each refresh walks the trees; with usesBlockingCalls, changes are also applied as they happen.",
        "No action is required.",
    )
    WOULD_ARCHIVE = _message(
        2,
        Severity.DECISION,
        "Connector {connector_name} would archive {count} elements no longer in {root} (dry run): {sample}",
        "Nothing was archived because deletionDetection.dryRun is true.",
        "Check the list; set dryRun to false to let the connector archive them.",
    )
    CHANGES_APPLIED = _message(
        3,
        Severity.EVENT,
        "Connector {connector_name} applied {count} file-system changes ({archived} archived)",
        "The changes were applied in one transaction.",
        "No action is required.",
    )


class MonitorSettings(ConnectorConfiguration):
    """The connector's configuration properties (validated by the runtime before initialize)."""

    include_hidden: StrictBool = Field(default=False, description="true or false: catalogue names starting with .")
    max_depth: int | None = Field(
        default=None, ge=0, description="directory levels below the root to descend, 0 or more; absent: no limit"
    )
    ignore_patterns: tuple[str, ...] = Field(
        default=(), description="a list of glob patterns matched against a name and its path below the root"
    )

    def ignores(self, name: str, relative_path: str) -> bool:
        """True for a hidden name (unless included) or a name or relative path matching an ignore pattern."""
        if not self.include_hidden and name.startswith("."):
            return True
        return any(
            fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(relative_path, pattern)
            for pattern in self.ignore_patterns
        )


class DirectoryMonitorConnector(IntegrationConnector[FilesIntegratorContext]):
    """Catalogs directory trees as folders and data files; archives what disappears."""

    integration_service = "files"
    configuration_model = MonitorSettings

    def __init__(self) -> None:
        super().__init__()
        self._roots: list[str] = []
        self._settings = MonitorSettings()
        self._stop = threading.Event()
        self._watcher: Generator[set[tuple[watchfiles.Change, str]], None, None] | None = None
        self._type_by_extension: dict[str, tuple[str, str]] = {}

    # --- lifecycle --------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Validate the configuration: every root must be an existing directory."""
        self._settings = self.configuration
        candidates = [self.connection.endpoint] if self.connection.endpoint else []
        candidates += [target.name for target in self.context.get_catalog_targets()]
        if not candidates:
            raise ConnectorConfigurationError(
                "directory-monitor needs a directory: set connection.endpoint or catalogTargets"
            )
        roots: list[str] = []
        for candidate in candidates:
            path = os.path.abspath(candidate.removeprefix("file://"))
            if not os.path.isdir(path):
                raise ConnectorConfigurationError(f"the directory {path} does not exist or is not a directory")
            if path not in roots:
                roots.append(path)
        self._roots = roots
        self._stop.clear()
        if self._audit_log is not None:
            self.audit_log.log_message(
                "start", DirectoryMonitorMessages.WATCHING, connector_name=self.connector_name, roots=", ".join(roots)
            )

    @property
    def roots(self) -> list[str]:
        return list(self._roots)

    @property
    def is_watching(self) -> bool:
        """True once engage() has started watching the trees (until disconnect)."""
        return self._watcher is not None and not self._stop.is_set()

    def refresh(self) -> None:
        """Walk every tree, upsert what is there, then archive (per deletionDetection) what is gone."""
        for root in self._roots:
            if not os.path.isdir(root):
                raise ConnectorError(f"the directory {root} has disappeared; nothing was archived")
            self._catalog_tree(root, root)
            archived = self.context.detect_deleted_files(root)
            if archived and self.context.deletion_detection.dry_run:
                self._report_would_archive(root, archived)

    def engage(self) -> None:
        """Wait up to about a second for changes under the roots and apply one batch of them."""
        if self._stop.is_set():
            return
        if self._watcher is None:
            import watchfiles  # on first use: see the module docstring

            self._watcher = watchfiles.watch(
                *self._roots,
                watch_filter=self._watch_filter,
                debounce=WATCH_DEBOUNCE_MS,
                stop_event=self._stop,
                rust_timeout=WATCH_TIMEOUT_MS,
                yield_on_timeout=True,
                recursive=True,
                raise_interrupt=False,
            )
        watcher = self._watcher
        if watcher is None:  # disconnected meanwhile
            return
        try:
            changes = next(watcher)
        except StopIteration:
            self._watcher = None
            return
        if self._stop.is_set():
            self._close_watcher()
            return
        if changes:
            self.apply_changes(changes)

    def disconnect(self) -> None:
        """Stop watching and release the watch (its inotify and epoll descriptors); a running engage() returns
        within watchfiles' polling step and releases it then."""
        self._stop.set()
        self._close_watcher()

    def _close_watcher(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is None:
            return
        # Leaves watchfiles' `with RustNotify(...)`, which closes its descriptors. ValueError: engage() is inside
        # it on another thread, and the stop event ends it there.
        with contextlib.suppress(ValueError):
            watcher.close()

    # --- the full walk ----------------------------------------------------------------------------------------
    def _catalog_tree(self, root: str, top: str) -> str:
        """Catalog the folder `top` (under `root`) and everything below it; returns the folder's GUID."""
        context = self.context
        folder, _ = context.upsert_file_folder(_name(top), self._folder_properties(top))
        pending: list[tuple[str, str, int]] = [(top, folder.guid, self._depth(root, top))]
        while pending:
            directory, folder_guid, depth = pending.pop()
            subfolders = self._catalog_directory(root, directory, folder_guid, depth)
            pending.extend(subfolders)
        return folder.guid

    def _catalog_directory(self, root: str, directory: str, folder_guid: str, depth: int) -> list[tuple[str, str, int]]:
        """Upsert the files and folders directly in `directory`, each kind in one call (a call per element
        cost more than the repository's work on a large refresh); returns the subfolders still to walk."""
        settings = self._settings
        may_descend = settings.max_depth is None or depth < settings.max_depth
        folder_paths: list[str] = []
        folders: list[ElementUpsert] = []
        files: list[ElementUpsert] = []
        with os.scandir(directory) as entries:
            for entry in entries:
                name = entry.name
                if (not settings.include_hidden and name.startswith(".")) or (
                    settings.ignore_patterns and settings.ignores(name, os.path.relpath(entry.path, root))
                ):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    if may_descend:
                        path = entry.path
                        properties = self._folder_properties(path, entry.stat(follow_symlinks=False))
                        folder_paths.append(path)
                        folders.append(ElementUpsert(_name(path), properties))
                elif entry.is_file(follow_symlinks=False):
                    files.append(self._file_upsert(entry.path, name, entry.stat(follow_symlinks=False)))
        context = self.context
        if files:
            context.upsert_data_files(files, parent_guid=folder_guid)
        if not folders:
            return []
        guids = context.upsert_file_folders(folders, parent_guid=folder_guid)
        return [(path, guid, depth + 1) for path, (guid, _) in zip(folder_paths, guids, strict=True)]

    def _file_upsert(self, path: str, name: str, stat: os.stat_result) -> ElementUpsert:
        """The DataFile (of the subtype its extension implies) to upsert for the file at `path`."""
        extension = name.rpartition(".")[2].lower() if "." in name else ""
        described = self._type_by_extension.get(extension)
        if described is None:
            described = (
                data_file_type_for(name, self.context.types),
                FILE_TYPE_NAMES.get(extension, extension or "file"),
            )
            self._type_by_extension[extension] = described
        type_name, file_type = described
        properties = {
            "name": name,
            "fileName": name,
            "pathName": path,
            "fileExtension": extension,
            "fileType": file_type,
            "size": stat.st_size,
            "modifiedTime": datetime.fromtimestamp(stat.st_mtime, UTC).isoformat(),
        }
        return ElementUpsert(_name(path), properties, type_name)

    def _folder_properties(self, path: str, stat: os.stat_result | None = None) -> dict[str, Any]:
        stat = stat or os.stat(path)
        name = os.path.basename(path) or path
        return {
            "name": name,
            "fileName": name,
            "pathName": path,
            "modifiedTime": datetime.fromtimestamp(stat.st_mtime, UTC).isoformat(),
        }

    # --- watch mode -------------------------------------------------------------------------------------------
    def apply_changes(self, changes: set[tuple[watchfiles.Change, str]]) -> None:
        """Apply one batch of file-system changes in one transaction (engage calls this)."""
        from watchfiles import Change  # imported already by engage(), or by the caller that made `changes`

        archived = 0
        added = {path for change, path in changes if change == Change.added}
        with self.context.change_batch():
            for path in sorted({path for _, path in changes}):
                root = self._root_of(path)
                if root is None or self._outside_scope(root, path):
                    continue
                if os.path.isdir(path) and not os.path.islink(path):
                    if path == root:
                        self.context.upsert_file_folder(file_qualified_name(path), self._folder_properties(path))
                        continue
                    parent_guid = self._ensure_folder(root, os.path.dirname(path))
                    if path in added:  # a new (or moved-in) folder: catalog everything in it
                        guid = self._catalog_tree(root, path)
                    else:
                        folder, _ = self.context.upsert_file_folder(
                            file_qualified_name(path), self._folder_properties(path)
                        )
                        guid = folder.guid
                    self.context.add_nested_folder(parent_guid, guid)
                elif os.path.isfile(path) and not os.path.islink(path):
                    folder_guid = self._ensure_folder(root, os.path.dirname(path))
                    upsert = self._file_upsert(path, os.path.basename(path), os.stat(path))
                    self.context.upsert_data_files([upsert], parent_guid=folder_guid)
                elif not os.path.lexists(path):
                    archived += self._archive_path(root, path)
        if self._audit_log is not None:
            self.audit_log.log_message(
                "engage",
                DirectoryMonitorMessages.CHANGES_APPLIED,
                connector_name=self.connector_name,
                count=len(changes),
                archived=archived,
            )

    def _archive_path(self, root: str, path: str) -> int:
        """Archive the file or folder that was at `path` and, for a folder, what this connector had below it."""
        settings = self.context.deletion_detection
        if not settings.enabled:
            return 0
        context = self.context
        gone = [
            element
            for element in (context.get_file_by_path_name(path), context.get_folder_by_path_name(path))
            if element is not None and element.metadata_collection == context.get_metadata_source_qualified_name()
        ]
        gone += context.get_my_elements_under(path)
        if settings.dry_run:
            if gone:
                self._report_would_archive(root, gone)
            return 0
        for element in gone:
            if context.is_type_of(element.type_name, "DataFile"):
                context.remove_data_file(element.guid)
            else:
                context.remove_file_folder(element.guid)
        return len(gone)

    def _ensure_folder(self, root: str, directory: str) -> str:
        """Catalog `directory` and the folders between it and `root` (as the walk would); returns its GUID."""
        context = self.context
        folder, _ = context.upsert_file_folder(file_qualified_name(root), self._folder_properties(root))
        relative = os.path.relpath(directory, root)
        current = root
        for part in [] if relative == "." else relative.split(os.sep):
            current = os.path.join(current, part)
            folder, _ = context.upsert_file_folder(
                file_qualified_name(current), self._folder_properties(current), parent_guid=folder.guid
            )
        return folder.guid

    def _root_of(self, path: str) -> str | None:
        matches = [root for root in self._roots if path == root or path.startswith(root.rstrip(os.sep) + os.sep)]
        return max(matches, key=len) if matches else None

    def _outside_scope(self, root: str, path: str) -> bool:
        """True when the walk would not catalog `path`: hidden, ignored, or deeper than maxDepth."""
        if path == root:
            return False
        relative = os.path.relpath(path, root)
        parts = relative.split(os.sep)
        for index, part in enumerate(parts):
            if self._settings.ignores(part, os.sep.join(parts[: index + 1])):
                return True
        max_depth = self._settings.max_depth
        if max_depth is None:
            return False
        directories_below_root = len(parts) - 1
        if directories_below_root > max_depth:
            return True
        return directories_below_root == max_depth and os.path.isdir(path)

    def _watch_filter(self, change: watchfiles.Change, path: str) -> bool:
        root = self._root_of(path)
        return root is not None and not self._outside_scope(root, path)

    def _depth(self, root: str, directory: str) -> int:
        return 0 if directory == root else len(os.path.relpath(directory, root).split(os.sep))

    def _report_would_archive(self, root: str, elements: Sequence[Element]) -> None:
        if self._audit_log is None:
            return
        sample = ", ".join(element.qualified_name for element in elements[:10])
        if len(elements) > 10:
            sample += f" and {len(elements) - 10} more"
        self.audit_log.log_message(
            "refresh",
            DirectoryMonitorMessages.WOULD_ARCHIVE,
            connector_name=self.connector_name,
            count=len(elements),
            root=root,
            sample=sample,
        )
