"""Raw HTTP/1.1 over a socket, for what HTTP clients will not do: chunked bodies that break a
limit mid-way, and senders that stall."""

from __future__ import annotations

import asyncio


async def raw_post(
    base: str,
    path: str,
    chunks: list[bytes],
    headers: dict[str, str] | None = None,
    pause: float = 0.0,
) -> bytes:
    """POST a chunked body over a raw socket (a client that sends no Content-Length, keeps
    the connection alive), then read the whole answer; ``pause`` waits before the last
    chunk, like a slow sender."""
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n"
        + "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        + "\r\n"
    )
    # Read while writing: a server that refuses mid-body answers and closes before the
    # client has sent everything, and the answer must be caught before the connection resets.
    answer = bytearray()

    async def read_all() -> None:
        # Until the answer is complete (Content-Length), the connection closes, or resets.
        try:
            while chunk := await reader.read(65536):
                answer.extend(chunk)
                head, sep, rest = bytes(answer).partition(b"\r\n\r\n")
                for line in head.split(b"\r\n") if sep else ():
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        if len(rest) >= int(value):
                            return
        except ConnectionError:
            pass

    reading = asyncio.create_task(read_all())
    framed = [b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks]
    try:
        writer.write(head.encode())
        for piece in framed[:-1]:
            writer.write(piece)
            await writer.drain()
        if pause:
            await asyncio.sleep(pause)
        writer.write(framed[-1] + b"0\r\n\r\n")
        await writer.drain()
    except ConnectionError:
        pass  # the server answered and closed already
    await asyncio.wait_for(reading, 10)
    writer.close()
    return bytes(answer)


def json_body(size: int) -> list[bytes]:
    """A JSON object of about ``size`` bytes, in 1 KiB chunks."""
    return [b'{"a": "', *([b"x" * 1024] * (size // 1024)), b'"}']
