"""An append-only, checksummed journal file with group commit (the embedded store's write-ahead
log, devtools/durable.py).

`append` writes one frame (length, CRC-32, payload) to the file and returns its sequence number;
`wait(seq)` returns once every frame up to `seq` is on disk. Whoever waits first runs one
`fdatasync` for everything appended so far, and the writers that arrive meanwhile wait for the
next one: many concurrent writers share one disk flush (group commit) instead of paying one
each. A crash can leave a torn last frame (half written, never acknowledged): `read_frames`
stops at the first frame whose length or checksum is wrong, and `Journal` truncates the file
there before appending.
"""

from __future__ import annotations

import os
import struct
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

_FRAME = struct.Struct("<II")  # payload length, CRC-32 of the payload
MAX_FRAME = 256 * 1024 * 1024  # a length above this is a torn header, not a frame


def read_frames(path: Path) -> tuple[list[bytes], int]:
    """(the payloads of the file's whole frames, the length they cover)."""
    data = path.read_bytes()
    payloads: list[bytes] = []
    offset = 0
    while offset + _FRAME.size <= len(data):
        length, crc = _FRAME.unpack_from(data, offset)
        start = offset + _FRAME.size
        end = start + length
        if length > MAX_FRAME or end > len(data):
            break
        payload = data[start:end]
        if zlib.crc32(payload) != crc:
            break
        payloads.append(payload)
        offset = end
    return payloads, offset


def iter_frames(path: Path) -> Iterator[bytes]:
    yield from read_frames(path)[0]


def sync_folder(folder: Path) -> None:
    """Make a rename or a new file in `folder` durable (its directory entry)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Journal:
    """One journal file open for appending; thread-safe."""

    def __init__(self, path: Path, *, sync: bool = True) -> None:
        self.path = path
        self._sync = sync
        existed = path.exists()
        if existed:  # drop a torn tail before appending after it
            _, valid = read_frames(path)
            with path.open("r+b") as torn:
                torn.truncate(valid)
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        if not existed and sync:
            sync_folder(path.parent)
        self._lock = threading.Lock()
        self._flushed = threading.Condition(self._lock)
        self._syncing = False
        self.appended = 0  # frames appended through this object
        self.durable = 0  # of those, how many are known to be on disk
        self.size = path.stat().st_size

    def append(self, payload: bytes) -> int:
        frame = _FRAME.pack(len(payload), zlib.crc32(payload)) + payload
        with self._lock:
            os.write(self._fd, frame)
            self.appended += 1
            self.size += len(frame)
            return self.appended

    def wait(self, seq: int) -> None:
        """Return once frame `seq` (and every one before it) is on disk."""
        if not self._sync:
            return
        with self._lock:
            while self.durable < seq:
                if self._syncing:  # someone's flush is under way: the next one covers us
                    self._flushed.wait()
                    continue
                self._syncing = True
                target = self.appended
                self._lock.release()
                try:
                    os.fdatasync(self._fd)
                finally:
                    self._lock.acquire()
                    self._syncing = False
                    self._flushed.notify_all()
                self.durable = max(self.durable, target)

    def close(self) -> None:
        """Flush what is appended and close the file."""
        self.wait(self.appended)
        with self._lock:
            while self._syncing:
                self._flushed.wait()
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
