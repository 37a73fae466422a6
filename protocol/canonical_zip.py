"""A canonical ZIP: a fixed set of named members, one byte string.

A segment model release travels as one ZIP file so that it can be
downloaded, mailed and archived as one thing. ZIP leaves much to the writer
(timestamps, attributes, extra fields, compression, member order), so this
module writes exactly one form: members stored (not compressed), in a given
order, with fixed headers (version 2.0, no flags, 1980-01-01 00:00, Unix mode
0644, no extra fields, no comments). Reading checks everything that needs no
parsing of the members' content, in this order, and then rebuilds the file
from its members and compares it byte for byte, so that no byte of the
container can change unnoticed (the members themselves are covered by the
release's signature):

1. the end record (the last 22 bytes, read before ``zipfile`` sees the file):
   no comment, one disk, no ZIP64, at most :data:`MAX_ENTRIES` entries in a
   central directory of at most :data:`MAX_CENTRAL_DIRECTORY` bytes that ends
   where the record begins (a file claiming millions of entries is refused
   before one is parsed);
2. member names: no paths, nothing unexpected, nothing twice, nothing missing;
3. each member: not encrypted, stored, declared sizes within its limit and
   equal to each other and to what is read (at most limit + 1 bytes are
   read), CRC-32 as declared (``zipfile`` checks it);
4. the canonical form.

Stored members cannot expand: a member is never larger than the file.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence

from protocol.errors import MalformedMessage, PayloadTooLarge, PubliekError
from protocol.schema import full_match

# ZIP headers (APPNOTE 6.3.x): local file header, central directory header,
# end of central directory record.
_LOCAL = struct.Struct("<4sHHHHHLLLHH")
_CENTRAL = struct.Struct("<4sHHHHHHLLLHHHHHLL")
_END = struct.Struct("<4sHHHHLLH")
_VERSION = 20
_MADE_BY = (3 << 8) | _VERSION  # Unix
_DOS_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01
_MODE = 0o100644 << 16
_ZIP64_LOCATOR = b"PK\x06\x07"
MAX_CENTRAL_DIRECTORY = 4096
MAX_ENTRIES = 16
_PLAIN_NAME = full_match(r"[a-z0-9_.-]{1,40}")
# What a damaged ZIP makes ``zipfile`` raise (besides BadZipFile).
_ZIP_ERRORS = (
    zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, struct.error, EOFError,
    NotImplementedError, OverflowError, OSError, KeyError, UnicodeError, RuntimeError,
    zlib.error,
)  # fmt: skip


def pack(members: Iterable[tuple[str, bytes]]) -> bytes:
    """The one byte string ``members`` (name, content), in this order, make."""
    out = bytearray()
    central = bytearray()
    count = 0
    for name, data in members:
        raw_name = name.encode("ascii")
        crc = zlib.crc32(data)
        offset = len(out)
        out += _LOCAL.pack(b"PK\x03\x04", _VERSION, 0, 0, 0, _DOS_DATE, crc, len(data),
                           len(data), len(raw_name), 0)  # fmt: skip
        out += raw_name + data
        central += _CENTRAL.pack(b"PK\x01\x02", _MADE_BY, _VERSION, 0, 0, 0, _DOS_DATE, crc,
                                 len(data), len(data), len(raw_name), 0, 0, 0, 0, _MODE,
                                 offset)  # fmt: skip
        central += raw_name
        count += 1
    start = len(out)
    out += central
    out += _END.pack(b"PK\x05\x06", 0, 0, count, count, len(central), start, 0)
    return bytes(out)


def read(
    data: bytes,
    *,
    where: str,
    names: Sequence[str],
    limits: Mapping[str, int],
    not_this_form: PubliekError,
    on_missing: Callable[[list[str]], PubliekError | None] = lambda _: None,
) -> dict[str, bytes]:
    """The members of ``data``, which must be exactly the canonical ZIP of
    ``names`` (in that order), each within its limit.

    ``not_this_form`` is raised for a file that is not such a ZIP at all;
    ``on_missing`` may give its own error for missing members (a release
    without its signature is unsigned, not merely incomplete)."""
    if len(data) < _END.size:
        raise not_this_form
    sig, disk, cd_disk, entries, total, cd_size, cd_offset, comment = _END.unpack(
        data[-_END.size :]
    )
    if (
        sig != b"PK\x05\x06"
        or (disk, cd_disk, comment) != (0, 0, 0)
        or entries != total
        or total > MAX_ENTRIES
        or cd_size > MAX_CENTRAL_DIRECTORY
        or cd_offset + cd_size != len(data) - _END.size
        or data[-_END.size - 20 : -_END.size - 16] == _ZIP64_LOCATOR
    ):
        raise not_this_form
    try:
        members = _members(data, where=where, names=names, limits=limits, on_missing=on_missing)
    except PubliekError:
        raise
    except _ZIP_ERRORS as exc:
        raise MalformedMessage(
            f"{where} is damaged: its ZIP structure or a member does not check out "
            f"({type(exc).__name__})",
            hint="download it again; use the file as published",
        ) from exc
    if pack((name, members[name]) for name in names) != data:
        raise MalformedMessage(
            f"{where} is not in its canonical form: its ZIP structure was altered",
            hint="use the file as published",
        )
    return members


def _shown(name: str) -> str:
    """A member name as an error may quote it: a plain file name, or nothing."""
    return repr(name) if _PLAIN_NAME.match(name) else "(a name not shown)"


def _members(
    data: bytes,
    *,
    where: str,
    names: Sequence[str],
    limits: Mapping[str, int],
    on_missing: Callable[[list[str]], PubliekError | None],
) -> dict[str, bytes]:
    expected = f"it holds exactly: {', '.join(names)}"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
        found = [info.filename for info in infos]
        if any("/" in n or "\\" in n or ".." in n or ":" in n for n in found):
            raise MalformedMessage(
                f"{where} holds a member with a path in its name",
                hint=f"do not extract it; {expected}",
            )
        unexpected = [n for n in found if n not in names]
        if unexpected:
            raise MalformedMessage(
                f"{where} holds a member it should not: {_shown(unexpected[0])}", hint=expected
            )
        if len(set(found)) != len(found):
            raise MalformedMessage(f"{where} holds a member twice", hint=expected)
        missing = [n for n in names if n not in found]
        if missing:
            raise on_missing(missing) or MalformedMessage(
                f"{where} lacks {', '.join(missing)}", hint=expected
            )
        members = {}
        for info in infos:
            name, limit = info.filename, limits[info.filename]
            if info.flag_bits & 0x1:
                raise MalformedMessage(f"{where}: {name} is encrypted", hint=expected)
            if info.compress_type != zipfile.ZIP_STORED:
                raise MalformedMessage(
                    f"{where}: {name} is compressed; members are stored as they are",
                    hint="use the file as published",
                )
            if max(info.file_size, info.compress_size) > limit:
                raise PayloadTooLarge(
                    f"{where}: {name} declares more bytes than its limit of {limit:,}",
                    hint="use the file as published",
                )
            if info.compress_size != info.file_size:
                raise MalformedMessage(
                    f"{where}: {name} declares a stored size that is not its size",
                    hint="use the file as published",
                )
            with archive.open(info) as member:
                content = member.read(limit + 1)
            if len(content) != info.file_size:
                raise MalformedMessage(
                    f"{where}: {name} is not the size its ZIP entry declares",
                    hint="use the file as published",
                )
            members[name] = content
    return members
