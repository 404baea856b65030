"""The receiver's journal: every accepted event, appended and synced to disk before the client hears 201.

Why a journal and not the repository: an acknowledgement then costs one append (and a shared fsync), however
much cataloguing the event needs, and a burst of events is catalogued in one transaction. The catalogue is a
projection of the journal: the connector applies what it has not applied yet (in engage() as events arrive,
and in every refresh), and since applying is idempotent, a restarted connector simply applies the retained
journal again, which writes nothing that is already there (and rebuilds a repository that was lost).

Layout: `<directory>/events-<n>.jsonl`, one event per line as the client sent it (validated). A segment is
closed at `segment_bytes`; the oldest segments beyond `retained_segments` are deleted once applied.
Appends come from the server's event loop (one writer); reads from the connector's threads. Concurrent
appends share fsyncs (group commit): each waits for the first sync that began after its write. With
`sync=False` an append is acknowledged once written to the operating system: it survives a crash of the
process or container, not of the machine.
"""

from __future__ import annotations

import asyncio
import os
import threading
from dataclasses import dataclass
from pathlib import Path

_PREFIX, _SUFFIX = "events-", ".jsonl"


@dataclass(frozen=True, order=True)
class Position:
    """Where the reader is: a segment number and a byte offset in it."""

    segment: int
    offset: int


class Journal:
    def __init__(self, directory: Path, *, segment_bytes: int, retained_segments: int, sync: bool = True) -> None:
        self.directory = directory
        self.sync = sync
        self.segment_bytes = segment_bytes
        self.retained_segments = retained_segments
        directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._applied = Position(0, 0)
        self._fd: int | None = None
        self._segment = max(self.segments(), default=1)
        self._path(self._segment).touch(mode=0o600)
        self._written = 0  # appends made, and appends known synced
        self._synced = 0
        self._sync_task: asyncio.Future[None] | None = None
        self.appended = threading.Event()  # set after each durable append, for the connector's engage()

    # --- writing (the server's event loop) --------------------------------------------------------------------
    def open(self) -> None:
        """Open the newest segment for appending; a torn last line (a crash mid-write, never acknowledged) is cut."""
        path = self._path(self._segment)
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        complete = _after_last_newline(path)
        if complete < os.fstat(self._fd).st_size:
            os.truncate(self._fd, complete)

    def end(self) -> Position:
        """The position after the last complete line: where a reader starting now begins."""
        segments = self.segments()
        if not segments:
            return Position(0, 0)
        return Position(segments[-1], _after_last_newline(self._path(segments[-1])))

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.fsync(fd)
            os.close(fd)

    async def append(self, lines: list[bytes]) -> None:
        """Append the lines (each one JSON event ending in a newline) and return once they are on disk."""
        if self._fd is None:
            raise RuntimeError("the journal is closed")
        if os.fstat(self._fd).st_size >= self.segment_bytes:
            self._rotate()
        os.write(self._fd, b"".join(lines))
        self._written += 1
        if not self.sync:  # in the page cache: survives the process, not the machine
            self._synced = self._written
            self.appended.set()
            return
        mine = self._written
        while self._synced < mine:
            if self._sync_task is None:
                self._sync_task = asyncio.ensure_future(self._sync())
            await asyncio.shield(self._sync_task)
        self.appended.set()

    async def _sync(self) -> None:
        upto, fd = self._written, self._fd
        try:
            if fd is not None:
                await asyncio.get_running_loop().run_in_executor(None, os.fdatasync, fd)
            self._synced = max(self._synced, upto)
        finally:
            self._sync_task = None

    def _rotate(self) -> None:
        assert self._fd is not None
        os.fsync(self._fd)
        os.close(self._fd)
        self._segment += 1
        self.open()
        with self._lock:
            applied = self._applied.segment
        for segment in self.segments()[: -self.retained_segments]:
            if segment < applied:
                self._path(segment).unlink(missing_ok=True)

    # --- reading (the connector's threads) --------------------------------------------------------------------
    def segments(self) -> list[int]:
        numbers = []
        for path in self.directory.glob(f"{_PREFIX}*{_SUFFIX}"):
            digits = path.name[len(_PREFIX) : -len(_SUFFIX)]
            if digits.isdigit():
                numbers.append(int(digits))
        return sorted(numbers)

    def read(self, since: Position | None, *, limit: int) -> tuple[list[bytes], Position]:
        """Up to `limit` complete lines after `since` (None: the oldest retained), and the position after them."""
        segments = self.segments()
        if not segments:
            return [], since or Position(0, 0)
        position = since if since is not None and since.segment >= segments[0] else Position(segments[0], 0)
        lines: list[bytes] = []
        for segment in (s for s in segments if s >= position.segment):
            offset = position.offset if segment == position.segment else 0
            with open(self._path(segment), "rb") as file:
                file.seek(offset)
                for line in file:
                    if not line.endswith(b"\n"):
                        break  # being written: read it next time
                    offset += len(line)
                    if line.strip():
                        lines.append(line)
                    if len(lines) >= limit:
                        return lines, Position(segment, offset)
            position = Position(segment, offset)
        return lines, position

    def applied_up_to(self, position: Position) -> None:
        """What the connector has committed to the repository: segments before it may be deleted."""
        with self._lock:
            self._applied = max(self._applied, position)

    def _path(self, segment: int) -> Path:
        return self.directory / f"{_PREFIX}{segment:08d}{_SUFFIX}"


def _after_last_newline(path: Path, chunk: int = 65_536) -> int:
    """The offset just after the file's last newline (0 if it has none), read from the end backwards."""
    with open(path, "rb") as file:
        end = file.seek(0, os.SEEK_END)
        while end > 0:
            start = max(0, end - chunk)
            file.seek(start)
            found = file.read(end - start).rfind(b"\n")
            if found >= 0:
                return start + found + 1
            end = start
    return 0
