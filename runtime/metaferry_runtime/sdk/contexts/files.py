"""Files integration service (Egeria's Files Integrator): data files, folders and how they nest.

A file or folder is named by its location, `file://<absolute path>`, so the qualified name is stable across
refreshes and readable, and a connector can upsert by it. The path helpers below keep connectors from
building those names by hand. DataFile has subtypes by format (CSVFile, JSONFile, ParquetFile...);
`data_file_type_for` picks one from the file's extension.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

from metaferry_runtime.repository import ChangeKind, Element
from metaferry_runtime.repository.types import TypeRegistry, default_registry
from metaferry_runtime.sdk.contexts._elements import (
    MAX_PAGE_SIZE,
    ElementContext,
    ElementKind,
    ParentLink,
    RelationshipKind,
    page_of,
)

DATA_FILE = ElementKind("DataFile", is_asset=True, parent=ParentLink("NestedFile"))
FILE_FOLDER = ElementKind("FileFolder", is_asset=True, parent=ParentLink("FolderHierarchy"))
#: parentFolder (end 1) -> nestedFolder (end 2).
FOLDER_HIERARCHY = RelationshipKind("FolderHierarchy", end1="parent folder", end2="nested folder")
#: homeFolder (end 1) -> nestedFile (end 2).
NESTED_FILE = RelationshipKind("NestedFile", end1="folder", end2="data file")

FILE_URI_PREFIX = "file://"

#: File extension (lower case, no dot) -> the DataFile subtype that describes its format.
DATA_FILE_TYPES: Mapping[str, str] = {
    "csv": "CSVFile",
    "tsv": "CSVFile",
    "json": "JSONFile",
    "jsonl": "JSONFile",
    "ndjson": "JSONFile",
    "avro": "AvroFile",
    "parquet": "ParquetFile",
    "log": "LogFile",
    "xml": "XMLFile",
    "yaml": "YAMLFile",
    "yml": "YAMLFile",
}
#: Extension -> the `fileType` property: a short, human description of the format.
FILE_TYPE_NAMES: Mapping[str, str] = {
    "csv": "csv",
    "tsv": "tsv",
    "json": "json",
    "jsonl": "json-lines",
    "ndjson": "json-lines",
    "avro": "avro",
    "parquet": "parquet",
}


def file_qualified_name(path: str | os.PathLike[str]) -> str:
    """`file://<absolute path>` for a file or folder (no trailing slash), the name files are upserted by."""
    absolute = os.path.abspath(os.fspath(path))
    return FILE_URI_PREFIX + (absolute if os.sep == "/" else PurePath(absolute).as_posix())


def path_of_qualified_name(qualified_name: str) -> str | None:
    """The path a `file://` qualified name stands for; None for other names."""
    if not qualified_name.startswith(FILE_URI_PREFIX):
        return None
    return qualified_name[len(FILE_URI_PREFIX) :]


def data_file_type_for(path: str | os.PathLike[str], registry: TypeRegistry | None = None) -> str:
    """The DataFile subtype for a file's extension; DataFile itself when the format is not known or the
    registry has no type for it."""
    extension = os.path.splitext(os.fspath(path))[1][1:].lower()
    type_name = DATA_FILE_TYPES.get(extension, DATA_FILE.type_name)
    if type_name != DATA_FILE.type_name and not (registry or default_registry()).is_subtype(type_name, "DataFile"):
        return DATA_FILE.type_name
    return type_name


class FilesIntegratorContext(ElementContext):
    """What a files connector may do: catalog files and folders, nest them, find them by path."""

    integration_service = "files"

    create_data_file = DATA_FILE.create()
    upsert_data_file = DATA_FILE.upsert()
    upsert_data_files = DATA_FILE.upsert_many()
    update_data_file = DATA_FILE.update()
    publish_data_file = DATA_FILE.publish()
    withdraw_data_file = DATA_FILE.withdraw()
    remove_data_file = DATA_FILE.remove()
    find_data_files = DATA_FILE.find()
    get_data_files_by_name = DATA_FILE.get_by_name()
    get_my_data_files = DATA_FILE.get_mine()
    get_data_file_by_guid = DATA_FILE.get_by_guid()
    get_data_file_by_qualified_name = DATA_FILE.get_by_qualified_name()

    create_file_folder = FILE_FOLDER.create()
    upsert_file_folder = FILE_FOLDER.upsert()
    upsert_file_folders = FILE_FOLDER.upsert_many()
    update_file_folder = FILE_FOLDER.update()
    publish_file_folder = FILE_FOLDER.publish()
    withdraw_file_folder = FILE_FOLDER.withdraw()
    remove_file_folder = FILE_FOLDER.remove()
    find_file_folders = FILE_FOLDER.find()
    get_file_folders_by_name = FILE_FOLDER.get_by_name()
    get_my_file_folders = FILE_FOLDER.get_mine()
    get_file_folder_by_guid = FILE_FOLDER.get_by_guid()
    get_folder_by_qualified_name = FILE_FOLDER.get_by_qualified_name()

    add_data_file_to_folder = NESTED_FILE.link()
    remove_data_file_from_folder = NESTED_FILE.unlink()
    get_folder_files = NESTED_FILE.end2_elements()
    get_folders_of_file = NESTED_FILE.end1_elements()
    add_nested_folder = FOLDER_HIERARCHY.link()
    remove_nested_folder = FOLDER_HIERARCHY.unlink()
    get_nested_folders = FOLDER_HIERARCHY.end2_elements()
    get_parent_folders = FOLDER_HIERARCHY.end1_elements()

    # --- by path, as Egeria's files context offers -----------------------------------------------------------
    def get_file_by_path_name(self, path: str | os.PathLike[str]) -> Element | None:
        return self.get_data_file_by_qualified_name(file_qualified_name(path))

    def get_folder_by_path_name(self, path: str | os.PathLike[str]) -> Element | None:
        return self.get_folder_by_qualified_name(file_qualified_name(path))

    def add_data_file_to_catalog(
        self,
        path: str | os.PathLike[str],
        properties: Mapping[str, Any] | None = None,
        *,
        folder_guid: str | None = None,
    ) -> tuple[Element, ChangeKind]:
        """Catalog (or refresh) the file at `path` as the DataFile subtype its extension implies.

        `properties` are added to the ones derived from the path (name, pathName, fileName, fileExtension,
        fileType). With `folder_guid` the file is nested in that folder when it is new.
        """
        absolute = os.path.abspath(os.fspath(path))
        extension = os.path.splitext(absolute)[1][1:].lower()
        derived: dict[str, Any] = {
            "name": os.path.basename(absolute),
            "pathName": absolute,
            "fileName": os.path.basename(absolute),
            "fileExtension": extension,
            "fileType": FILE_TYPE_NAMES.get(extension, extension or "file"),
        }
        derived.update(properties or {})
        return self.upsert_data_file(
            file_qualified_name(absolute),
            derived,
            type_name=data_file_type_for(absolute, self.types),
            parent_guid=folder_guid,
        )

    def add_data_folder_to_catalog(
        self,
        path: str | os.PathLike[str],
        properties: Mapping[str, Any] | None = None,
        *,
        parent_folder_guid: str | None = None,
    ) -> tuple[Element, ChangeKind]:
        """Catalog (or refresh) the folder at `path`; with `parent_folder_guid` it is nested when new."""
        absolute = os.path.abspath(os.fspath(path))
        derived: dict[str, Any] = {"name": os.path.basename(absolute) or absolute, "pathName": absolute}
        derived.update(properties or {})
        return self.upsert_file_folder(file_qualified_name(absolute), derived, parent_guid=parent_folder_guid)

    def create_nested_folders(self, path: str | os.PathLike[str], *, top_folder: str | os.PathLike[str]) -> str:
        """Catalog `top_folder` and every folder between it and `path`, nested; returns the GUID of `path`'s."""
        top = os.path.abspath(os.fspath(top_folder))
        target = os.path.abspath(os.fspath(path))
        if os.path.commonpath([top, target]) != top:
            raise ValueError(f"{target} is not inside {top}")
        folder, _ = self.add_data_folder_to_catalog(top)
        relative = os.path.relpath(target, top)
        current = top
        for part in [] if relative == "." else relative.split(os.sep):
            current = os.path.join(current, part)
            folder, _ = self.add_data_folder_to_catalog(current, parent_folder_guid=folder.guid)
        return folder.guid

    def archive_data_file_in_catalog(self, path: str | os.PathLike[str]) -> bool:
        """Archive the cataloged file at `path` (restorable); False when it was not cataloged."""
        element = self.get_file_by_path_name(path)
        if element is None:
            return False
        self.remove_data_file(element.guid)
        return True

    def delete_data_file_from_catalog(self, path: str | os.PathLike[str]) -> bool:
        """Purge the cataloged file at `path` and its relationships; False when it was not cataloged."""
        element = self.get_file_by_path_name(path)
        if element is None:
            return False
        self.remove_data_file(element.guid, purge=True)
        return True

    def archive_data_folder_in_catalog(self, path: str | os.PathLike[str]) -> bool:
        element = self.get_folder_by_path_name(path)
        if element is None:
            return False
        self.remove_file_folder(element.guid)
        return True

    def delete_data_folder_from_catalog(self, path: str | os.PathLike[str]) -> bool:
        element = self.get_folder_by_path_name(path)
        if element is None:
            return False
        self.remove_file_folder(element.guid, purge=True)
        return True

    def get_my_elements_under(self, path: str | os.PathLike[str]) -> list[Element]:
        """The files and folders this connector owns below `path` (not `path` itself)."""
        prefix = file_qualified_name(path) + "/"
        found: list[Element] = []
        with self.read_transaction() as transaction:
            start = 0
            while True:
                page = transaction.find_elements(
                    search_string=prefix,
                    metadata_collection=self._metadata_source,
                    page=page_of(start, MAX_PAGE_SIZE),
                )
                found.extend(element for element in page if element.qualified_name.startswith(prefix))
                if len(page) < MAX_PAGE_SIZE:
                    return found
                start += MAX_PAGE_SIZE

    def detect_deleted_files(self, root: str | os.PathLike[str]) -> list[Element]:
        """Deletion detection for one cataloged tree: archive owned files and folders below `root` that this
        refresh did not observe, within the resource's deletionDetection settings."""
        return self.detect_deletions(
            type_names=[DATA_FILE.type_name, FILE_FOLDER.type_name], scope_prefix=file_qualified_name(root) + "/"
        )
