"""A raw HTTP/2 client side for attacks and misbehaving clients: frames and HPACK literals built by
hand (no Huffman, no indexing), and a reader of the frames the server sends. Used by the tests of
unread answers and by bench/abuse."""

from __future__ import annotations

import socket
import struct

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = 0, 1, 3, 4, 6, 7, 8, 9
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1
SETTINGS_INITIAL_WINDOW_SIZE = 0x4


def frame(kind: int, flags: int, stream: int, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def settings(**values: int) -> bytes:
    """A SETTINGS frame; keys are setting ids as `s<id>`, e.g. settings(s4=0)."""
    return frame(SETTINGS, 0, 0, b"".join(struct.pack(">HI", int(k[1:]), v) for k, v in values.items()))


def hpack_int(value: int, prefix_bits: int, first: int = 0) -> bytes:
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out = bytearray([first | limit])
    value -= limit
    while value >= 128:
        out.append(value % 128 + 128)
        value //= 128
    out.append(value)
    return bytes(out)


def literal(name: str, value: str) -> bytes:
    """A literal header field without indexing, new name, no Huffman."""
    n, v = name.encode(), value.encode()
    return b"\x00" + hpack_int(len(n), 7) + n + hpack_int(len(v), 7) + v


def request_block(path: str, extra: list[tuple[str, str]] = ()) -> bytes:
    headers = [(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "localhost"),
               ("content-type", "application/grpc"), ("te", "trailers"), *extra]
    return b"".join(literal(n, v) for n, v in headers)


def grpc_message(payload: bytes) -> bytes:
    return b"\x00" + struct.pack(">I", len(payload)) + payload


def connect(port: int, timeout: float = 2.0) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


class FrameReader:
    """Splits what the server sends into frames (kind, flags, stream, payload)."""

    def __init__(self) -> None:
        self.buffer = b""

    def feed(self, data: bytes) -> list[tuple[int, int, int, bytes]]:
        self.buffer += data
        frames = []
        while len(self.buffer) >= 9:
            length = int.from_bytes(self.buffer[:3], "big")
            if len(self.buffer) < 9 + length:
                break
            kind, flags = self.buffer[3], self.buffer[4]
            stream = int.from_bytes(self.buffer[5:9], "big") & 0x7FFFFFFF
            frames.append((kind, flags, stream, self.buffer[9:9 + length]))
            self.buffer = self.buffer[9 + length:]
        return frames


class SendWindows:
    """What the server lets a client send on the connection and on stream 1 (one call), from its
    SETTINGS and WINDOW_UPDATE frames; answers the server's SETTINGS with an ACK."""

    def __init__(self) -> None:
        self.connection = 65_535
        self.stream = 65_535  # until the server's SETTINGS say otherwise

    def read(self, s: socket.socket, reader: FrameReader, wait: float = 0.02) -> bool:
        """Takes what the server sent within `wait` seconds; False when it closed the connection."""
        import select

        ready, _, _ = select.select([s], [], [], wait)
        if not ready:
            return True
        data = s.recv(1 << 16)
        if not data:
            return False
        for kind, flags, stream, payload in reader.feed(data):
            if kind == SETTINGS and not flags & ACK:
                for i in range(0, len(payload), 6):
                    if int.from_bytes(payload[i:i + 2], "big") == SETTINGS_INITIAL_WINDOW_SIZE:
                        self.stream += int.from_bytes(payload[i + 2:i + 6], "big") - 65_535
                s.sendall(frame(SETTINGS, ACK, 0, b""))
            elif kind == WINDOW_UPDATE:
                grant = int.from_bytes(payload, "big") & 0x7FFFFFFF
                if stream == 0:
                    self.connection += grant
                elif stream == 1:
                    self.stream += grant
        return True

    def take(self, size: int) -> bool:
        """Uses `size` bytes of both windows; False (nothing used) when they do not allow it."""
        if size > min(self.connection, self.stream):
            return False
        self.connection -= size
        self.stream -= size
        return True
