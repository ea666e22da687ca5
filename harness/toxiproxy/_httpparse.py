"""Incremental HTTP/1.x request parsing for the control plane, with Go net/http's limits.

Bytes are fed as they arrive and parsed once: the head end is searched for
only in new bytes, and a chunked body is decoded chunk by chunk from a cursor,
so a body of a million one-byte chunks costs linear time (it used to be
re-parsed from the start on every read, freezing the shared event loop). The
work per call is bounded (`CHUNK_BUDGET`): the caller yields to the loop and
calls again.

What is refused, and how, follows Go's `net/http` server, which the real
toxiproxy-server runs: a head over 1 MiB + 4 KiB is a 431, an unknown
transfer coding a 501, a major version other than 1 a 505, anything else
malformed a plain 400. One addition: bodies are capped (`MAX_BODY`, 413),
where Go reads without limit.
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = [
    "CHUNK_BUDGET",
    "Head",
    "HttpError",
    "MAX_BODY",
    "MAX_HEAD",
    "RequestParser",
    "YIELD",
    "clean_path",
    "split_target",
]

#: Go's DefaultMaxHeaderBytes plus the 4 KiB of slack its reader allows.
MAX_HEAD = (1 << 20) + 4096
#: Request bodies above this are a 413 (the real server has no cap; ours shares a loop with the data plane).
MAX_BODY = 2 << 20
#: Go's `maxLineLength` for a chunk-size line.
MAX_CHUNK_LINE = 4096
#: Chunks decoded per call before the caller must yield to the event loop.
CHUNK_BUDGET = 512

_TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_HEAD_END = re.compile(rb"\n\r?\n")
# Every header line: a token, a colon, a value without control characters (tab allowed).
# (possessive quantifiers: no backtracking state per line, 4x faster over a head of 200 000 lines)
_HEADER_LINES = re.compile(rb"(?:" + _TOKEN + rb"+:[^\x00-\x08\n-\x1f\x7f]*+\r?\n)*+")
_WANTED = re.compile(
    rb"^(host|content-length|transfer-encoding|connection|expect|user-agent):[ \t]*([^\r\n]*?)[ \t]*\r?$",
    re.IGNORECASE | re.MULTILINE,
)
_METHOD = re.compile(_TOKEN)
_VERSION = re.compile(r"HTTP/(\d)\.(\d)")
_DIGITS = re.compile(rb"[0-9]+")
_CHUNK_SIZE = re.compile(rb"([0-9a-fA-F]{1,16})(?:;.*)?", re.DOTALL)
_BAD_ESCAPE = re.compile(r"%(?![0-9a-fA-F]{2})")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class HttpError(Exception):
    """A request the server answers with `status` before routing it (then closes the connection)."""

    def __init__(self, status: int, detail: str = "", *, shown: bool = False) -> None:
        super().__init__(f"{status} {detail}".strip())
        self.status = status
        self.detail = detail
        self.shown = shown  # Go's statusError: the detail is part of the answer


class Head(NamedTuple):
    """A parsed request line and the headers the server acts on (names lower-case)."""

    method: str
    target: str
    minor: int  # 0 for HTTP/1.0, 1 for 1.1 and later 1.x
    headers: dict[str, str]
    keep_alive: bool
    chunked: bool
    length: int  # Content-Length (0 when chunked or absent)

    @property
    def expect(self) -> str:
        return self.headers.get("expect", "")

    @property
    def has_body(self) -> bool:
        return self.chunked or self.length > 0


class _Yield:
    def __repr__(self) -> str:
        return "YIELD"


#: Returned by `RequestParser.body` when its budget ran out: call it again after yielding.
YIELD = _Yield()


def _tokens(value: str) -> set[str]:
    return {part.strip().lower() for part in value.split(",")}


class RequestParser:
    """Parse requests from a byte stream, one at a time: `feed`, then `head()`, then `body()`."""

    def __init__(self, *, max_head: int = MAX_HEAD, max_body: int = MAX_BODY) -> None:
        self.max_head = max_head
        self.max_body = max_body
        self.buf = bytearray()
        self.pos = 0  # start of what is not consumed yet
        self._scan = 0  # where the search for the head's end resumes
        self._head: Head | None = None
        self._body = bytearray()
        self._chunk_state = "size"  # size | data | trailer

    def feed(self, data: bytes) -> None:
        """Append received bytes (dropping the consumed prefix now and then, never per request)."""
        if self.pos and (self.pos >= 65536 or self.pos * 2 >= len(self.buf)):
            del self.buf[: self.pos]
            self._scan = max(self._scan - self.pos, 0)
            self.pos = 0
        self.buf += data

    @property
    def buffered(self) -> int:
        """Bytes received and not consumed."""
        return len(self.buf) - self.pos

    # -- head -----------------------------------------------------------------

    def head(self) -> Head | None:
        """The current request's head once it is complete (None: need more bytes)."""
        if self._head is not None:
            return self._head
        buf, start = self.buf, self.pos
        if buf[start : start + 1] == b"\n" or buf[start : start + 2] == b"\r\n":
            raise HttpError(400, "malformed HTTP request")
        match = _HEAD_END.search(buf, max(self._scan, start))
        if match is None:
            if len(buf) - start > self.max_head:
                raise HttpError(431)
            self._scan = max(len(buf) - 2, start)
            return None
        end = match.end()
        if end - start > self.max_head:
            raise HttpError(431)
        self._head = self._parse_head(bytes(buf[start:end]))
        self.pos = self._scan = end
        self._body = bytearray()
        self._chunk_state = "size"
        return self._head

    def _parse_head(self, raw: bytes) -> Head:
        first_end = raw.index(b"\n")
        line = raw[:first_end].rstrip(b"\r").decode("latin-1")
        block = raw[first_end + 1 :]
        method, sp1, rest = line.partition(" ")
        target, sp2, proto = rest.partition(" ")
        if not (sp1 and sp2) or not _METHOD.fullmatch(method.encode("latin-1")):
            raise HttpError(400, "malformed HTTP request")
        if proto in ("HTTP/1.1", "HTTP/1.0"):
            major, minor = 1, int(proto[-1])
        else:
            version = _VERSION.fullmatch(proto)
            if version is None:
                raise HttpError(400, "malformed HTTP version")
            major, minor = int(version[1]), min(int(version[2]), 1)
        if major != 1:
            raise HttpError(505, "unsupported protocol version", shown=True)
        # the block ends with the blank line; every line before it must be a valid header
        lines_end = len(block) - (2 if block.endswith(b"\r\n") else 1)
        if _HEADER_LINES.fullmatch(block, 0, lines_end) is None:
            raise HttpError(400, "malformed MIME header line")
        found: dict[str, list[str]] = {}
        for name, value in _WANTED.findall(block, 0, lines_end):
            found.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
        headers = {name: ", ".join(values) for name, values in found.items()}
        if minor == 1 and len(found.get("host", ())) != 1:
            detail = "missing required Host header" if "host" not in found else "too many Host headers"
            raise HttpError(400, detail, shown=True)
        chunked = False
        if "transfer-encoding" in found and minor == 1:  # HTTP/1.0 ignores it, as Go does
            codings = found["transfer-encoding"]
            if len(codings) != 1 or codings[0].lower() != "chunked":
                raise HttpError(501, "unsupported transfer encoding")
            chunked = True
        length = 0
        if "content-length" in found and not chunked:
            values = {v.strip(" \t") for v in found["content-length"]}
            text = values.pop().encode("latin-1") if len(values) == 1 else b""
            if not _DIGITS.fullmatch(text) or len(text) > 19:
                raise HttpError(400, "bad Content-Length")
            length = int(text)
        if length > self.max_body:
            raise HttpError(413)
        connection = _tokens(headers.get("connection", ""))
        keep_alive = "close" not in connection if minor == 1 else "keep-alive" in connection
        return Head(method, target, minor, headers, keep_alive, chunked, length)

    # -- body -----------------------------------------------------------------

    def body(self) -> bytes | _Yield | None:
        """The current request's body once complete (then the parser is ready for the next head).

        None: need more bytes. `YIELD`: the chunk budget ran out with work left; call again.
        """
        head = self._head
        assert head is not None, "body() before head()"
        if head.chunked:
            result = self._dechunk()
            if not isinstance(result, bytes):
                return result
            body = result
        else:
            if len(self.buf) - self.pos < head.length:
                return None
            body = bytes(self.buf[self.pos : self.pos + head.length])
            self.pos += head.length
        self._head = None
        self._scan = self.pos
        self._body = bytearray()
        return body

    def _dechunk(self) -> bytes | _Yield | None:
        buf, body = self.buf, self._body
        for _ in range(CHUNK_BUDGET):
            pos = self.pos
            if self._chunk_state == "trailer":
                nl = buf.find(b"\n", pos, pos + MAX_CHUNK_LINE + 1)
                if nl < 0:
                    if len(buf) - pos > MAX_CHUNK_LINE:
                        raise HttpError(400, "trailer line too long")
                    return None
                self.pos = nl + 1
                if nl - pos <= 1 and bytes(buf[pos:nl]) in (b"", b"\r"):
                    return bytes(body)
                continue
            nl = buf.find(b"\n", pos, pos + MAX_CHUNK_LINE + 1)
            if nl < 0:
                if len(buf) - pos > MAX_CHUNK_LINE:
                    raise HttpError(400, "chunk size line too long")
                return None
            size_line = _CHUNK_SIZE.fullmatch(bytes(buf[pos:nl]).rstrip(b" \t\r"))
            if size_line is None:
                raise HttpError(400, "malformed chunked encoding")
            size = int(size_line[1], 16)
            if size == 0:
                self.pos = nl + 1
                self._chunk_state = "trailer"
                continue
            if len(body) + size > self.max_body:
                raise HttpError(413)
            data_end = nl + 1 + size
            if len(buf) < data_end + 2:
                return None
            if buf[data_end : data_end + 2] != b"\r\n":
                raise HttpError(400, "malformed chunked encoding")
            body += buf[nl + 1 : data_end]
            self.pos = data_end + 2
        return YIELD


def split_target(target: str) -> tuple[str, str]:
    """(decoded path, raw query) of a request target, as Go's `url.ParseRequestURI` sees it.

    The path is percent-decoded to str with `surrogateescape`, so bytes that
    are not UTF-8 never equal a name stored from JSON. Bad escapes are a 400.
    """
    if target.startswith("/"):
        raw = target
    elif "://" in target:  # absolute form: the path after the authority
        scheme, _, rest = target.partition("://")
        if not scheme.isascii() or not scheme.isalpha():
            raise HttpError(400, "invalid request URI")
        slash = rest.find("/")
        mark = rest.find("?")
        if slash < 0 or (0 <= mark < slash):
            raw = rest[mark:] if mark >= 0 else ""
        else:
            raw = rest[slash:]
    elif target == "*":
        raw = "*"
    else:
        raise HttpError(400, "invalid request URI")
    if _CONTROL.search(raw):
        raise HttpError(400, "invalid control character in URL")
    path, _, query = raw.partition("?")
    if _BAD_ESCAPE.search(path):
        raise HttpError(400, "invalid URL escape")
    return _unquote(path), query


def _unquote(path: str) -> str:
    """Percent-decode; the bytes are UTF-8 (`surrogateescape` keeps any other byte distinct)."""
    if path.isascii() and "%" not in path:
        return path
    try:
        raw = path.encode("latin-1")  # a target off the wire: one character per byte
    except UnicodeEncodeError:
        raw = path.encode("utf-8", "surrogateescape")
    parts = raw.split(b"%")
    out = bytearray(parts[0])
    for part in parts[1:]:
        out.append(int(part[:2], 16))
        out += part[2:]
    return out.decode("utf-8", "surrogateescape")


def clean_path(path: str) -> str:
    """gorilla/mux's `cleanPath`: Go's `path.Clean`, rooted, keeping a trailing slash."""
    if path == "":
        return "/"
    if not path.startswith("/"):
        path = "/" + path
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    cleaned = "/" + "/".join(parts)
    if path.endswith("/") and cleaned != "/":
        cleaned += "/"
    return cleaned
