"""File systems, folders and files (Egeria models 0056, 0220-0221): the files service."""

from metaferry_runtime.repository.types.defs import ElementTypeDef, PropertyKind, RelationshipTypeDef, TypeArea

S, INT, B, T = PropertyKind.STRING, PropertyKind.INTEGER, PropertyKind.BOOLEAN, PropertyKind.DATETIME

_FILE = {
    "pathName": S,
    "fileName": S,
    "fileType": S,
    "fileExtension": S,
    "size": INT,
    "modifiedTime": T,
    "createTime": T,
}

AREA = TypeArea(
    name="files",
    element_types=(
        ElementTypeDef.of("FileSystem", "SoftwareCapability", format=S, encryption=S),
        ElementTypeDef.of("FileFolder", "DataStore", "A directory.", pathName=S, fileName=S, modifiedTime=T),
        ElementTypeDef.of("DataFile", "DataStore", "A file holding data.", **_FILE),
        ElementTypeDef.of(
            "CSVFile", "DataFile", delimiterCharacter=S, quoteCharacter=S, columnNames=PropertyKind.STRING_LIST
        ),
        ElementTypeDef.of("JSONFile", "DataFile"),
        ElementTypeDef.of("AvroFile", "DataFile"),
        ElementTypeDef.of("ParquetFile", "DataFile"),
    ),
    relationship_types=(
        RelationshipTypeDef.of("FolderHierarchy", ("FileFolder", "parentFolder"), ("FileFolder", "nestedFolder")),
        RelationshipTypeDef.of("NestedFile", ("FileFolder", "homeFolder"), ("DataFile", "nestedFiles")),
        RelationshipTypeDef.of("LinkedFile", ("FileFolder", "linkedFolders"), ("DataFile", "linkedFiles")),
    ),
)
