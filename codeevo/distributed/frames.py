"""Length-prefixed pickle frames between a node's actor and its sandbox host (both ours).

The pipes carrying them are the host's own file descriptors: no runner or candidate process
inherits them (the sandboxes start theirs with fresh stdio and close the rest).
"""

from __future__ import annotations

import asyncio
import os
import pickle
import struct
from typing import Any

_HEAD = struct.Struct(">Q")


async def open_pipes(
    read_fd: int, write_fd: int
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Asyncio streams over two pipe ends (the streams own and close the descriptors)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 20)
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(read_fd, "rb", buffering=0)
    )
    transport, protocol = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, os.fdopen(write_fd, "wb", buffering=0)
    )
    writer = asyncio.StreamWriter(transport, protocol, None, loop)
    return reader, writer


async def read_frame(reader: asyncio.StreamReader) -> dict[str, Any] | None:
    """The next frame, or None at end of stream."""
    try:
        head = await reader.readexactly(_HEAD.size)
        (size,) = _HEAD.unpack(head)
        body = await reader.readexactly(size)
    except asyncio.IncompleteReadError:
        return None
    frame = pickle.loads(body)
    if not isinstance(frame, dict):
        raise ValueError(f"unexpected frame of type {type(frame).__name__}")
    return frame


async def write_frame(writer: asyncio.StreamWriter, frame: dict[str, Any]) -> None:
    body = pickle.dumps(frame, protocol=pickle.HIGHEST_PROTOCOL)
    writer.write(_HEAD.pack(len(body)) + body)
    await writer.drain()
