"""The one-pass form parser gives what aiohttp's multipart reader gives, or steps aside for it."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from aiohttp import BodyPartReader, MultipartReader, StreamReader
from aiohttp.base_protocol import BaseProtocol

from voiceapi_async.emulator._form import FormPart, form_boundary, parse_form

from .conftest import make_folder, session, wav_bytes

B = "b0undary-7e3f"
CT = f"multipart/form-data; boundary={B}"


def _form(*parts: tuple[list[str], bytes], preamble: bytes = b"", end: bytes = b"--\r\n") -> bytes:
    out = preamble
    for headers, content in parts:
        out += f"--{B}\r\n".encode() + b"".join(h.encode() + b"\r\n" for h in headers) + b"\r\n" + content + b"\r\n"
    return out + f"--{B}".encode() + end


async def _aiohttp_parts(content_type: str, body: bytes) -> list[FormPart]:
    """What aiohttp's reader (the emulator's general path) makes of ``body``."""
    stream = StreamReader(BaseProtocol(asyncio.get_running_loop()), 1 << 20, loop=asyncio.get_running_loop())
    stream.feed_data(body)
    stream.feed_eof()
    reader = MultipartReader({"Content-Type": content_type}, stream)
    parts: list[FormPart] = []
    while (part := await reader.next()) is not None:
        assert isinstance(part, BodyPartReader)
        parts.append((part.name, part.filename, bytes(await part.read())))
    return parts


async def _form_data_body(fd: aiohttp.FormData) -> tuple[str, bytes]:
    """The bytes the SDK's HTTP library sends for ``fd`` (and its content type)."""
    payload: Any = fd()
    chunks: list[bytes] = []

    class Sink:
        async def write(self, data: bytes) -> None:
            chunks.append(bytes(data))

    await payload.write(Sink())
    return payload.content_type, b"".join(chunks)


PLAIN = [
    _form(
        (['Content-Disposition: form-data; name="data"; filename="take 1.wav"', "Content-Type: audio/wav"], b"RIFF..."),
        (['Content-Disposition: form-data; name="parent_folder_id"'], b"1234"),
        (['content-disposition: form-data; name="label"'], b""),
    ),
    _form((["Content-Disposition: form-data; name=microphone"], b"file\r\n--not-the-boundary\r\nx")),
    _form((['Content-Disposition: form-data; name="data"; filename="/tmp/x/café.wav"'], b"\0\1")),
    _form((['Content-Disposition: form-data; name="data"; filename="a%20b.wav"'], b"z" * 5000)),
    _form(([], b"no headers at all"), (['Content-Disposition: form-data; name="x"'], b"y")),
    _form((['Content-Disposition: form-data; filename="nameless.wav"'], b"abc")),
    _form((['Content-Disposition: form-data; name="a"'], b"1"), end=b"--"),
    _form((['Content-Disposition: form-data; name="a"'], b"1"), end=b"--\r\nepilogue"),
]


@pytest.mark.parametrize("body", PLAIN)
async def test_plain_forms_parse_as_aiohttp_reads_them(body: bytes) -> None:
    parts = parse_form(body, form_boundary(CT) or b"")
    assert parts is not None
    assert parts == await _aiohttp_parts(CT, body)


async def test_the_sdk_form_parses_as_aiohttp_reads_it() -> None:
    fd = aiohttp.FormData()
    fd.add_field("parent_folder_id", "3f1c")
    fd.add_field("microphone", "file")
    fd.add_field("data", b"RIFF" + bytes(range(256)), filename="f 1 é.wav", content_type="audio/wav")
    content_type, body = await _form_data_body(fd)
    boundary = form_boundary(content_type)
    assert boundary is not None
    parts = parse_form(body, boundary)
    assert parts is not None and parts == await _aiohttp_parts(content_type, body)
    assert [p[0] for p in parts] == ["parent_folder_id", "microphone", "data"]


@pytest.mark.parametrize(
    "body",
    [
        _form((['Content-Disposition: form-data; name="a"'], b"1"), preamble=b"preamble\r\n"),
        _form((["Content-Disposition: form-data; name=\"data\"; filename*=UTF-8''caf%C3%A9.wav"], b"x")),
        _form((['Content-Disposition: form-data; name="a"', "Content-Transfer-Encoding: base64"], b"MQ==")),
        _form((['Content-Disposition: form-data; name="a\\"b"'], b"1")),
        _form((['Content-Disposition: form-data; name="a"; name="b"'], b"1")),
        _form((['Content-Disposition: attachment; name="a"'], b"1")),
        _form((['Content-Disposition: form-data; name="a"', "Content-Type: multipart/mixed; boundary=x"], b"1")),
        _form((['Content-Disposition: form-data; name="a"', " folded"], b"1")),
        _form((['Content-Disposition: form-data; name="a"'], b"1"), end=b"\r\n"),
        _form((['Content-Disposition: form-data; name="a"'], b"1"), end=b"xx"),
        _form((['Content-Disposition: form-data; name="a"'], b"1")).replace(b"\r\n", b"\n"),
    ],
)
def test_anything_fancier_is_left_to_aiohttp(body: bytes) -> None:
    assert parse_form(body, B.encode()) is None


@pytest.mark.parametrize(
    ("content_type", "boundary"),
    [
        (CT, B.encode()),
        (f'Multipart/Form-Data;boundary="{B}"', B.encode()),
        ('multipart/form-data; boundary="with space\'"', b"with space'"),
        ("multipart/mixed; boundary=x", None),
        ("multipart/form-data; charset=utf-8; boundary=x", None),
        ('multipart/form-data; boundary=" x"', None),
        ("multipart/form-data", None),
        ("application/json", None),
        ("", None),
    ],
)
def test_boundary(content_type: str, boundary: bytes | None) -> None:
    assert form_boundary(content_type) == boundary


async def test_fancy_upload_still_goes_through_aiohttp(emu: Any) -> None:
    """A preamble and a base64-encoded field: parsed by aiohttp's reader, answered as before."""
    data = wav_bytes(0.5)
    async with session(emu) as s:
        _, fid = await make_folder(s)
        body = _form(
            (['Content-Disposition: form-data; name="data"; filename="pre.wav"'], data),
            (["Content-Disposition: form-data; name=microphone", "Content-Transfer-Encoding: base64"], b"ZmlsZQ=="),
            (['Content-Disposition: form-data; name="parent_folder_id"'], fid.encode()),
            preamble=b"ignored preamble\r\n",
        )
        assert parse_form(body, B.encode()) is None
        r = await s.post("/api/recordings", data=body, headers={"Content-Type": CT})
        rec = await r.json()
        assert r.status == 200, rec
        assert rec["microphone"] == "file" and rec["file_name"] == "pre.wav" and rec["size"] == len(data)
