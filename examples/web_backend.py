"""An aiohttp.web service that keeps one VoiceClient for its lifetime and converts uploads.

    POST /convert?voice=NAME_OR_ID[&semitones=N]   (body: multipart with a `file` part)
    -> the converted audio (audio/wav), streamed back

One client per application, not per request: its connection pool and its rate limiter
are shared by every request handler, so concurrent users never push the account over
its limits.  Once the upload is in, the paid part (order, conversion) runs as a task the
application owns and the handler awaits it through ``asyncio.shield``: a user who
disconnects cancels only the wait, never a conversion already paid for, and the
application lets such work finish before it closes the client (docs/guides/web.md).
Run it against the local emulator:

    python examples/web_backend.py --emulator
    curl -F file=@take.wav 'http://127.0.0.1:8000/convert?voice=Aurora' -o converted.wav
"""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import AsyncIterator

from aiohttp import web

from voiceapi_async import (
    ConversionTarget,
    InvalidRequestError,
    NotFoundError,
    Recording,
    RecordingState,
    UnknownVoiceError,
    VoiceAPIError,
    VoiceClient,
    sanitize_label,
)

CLIENT = web.AppKey("client", VoiceClient)
FOLDER = web.AppKey("folder_id", str)
WORK = web.AppKey("work", set)  # the paid conversions in flight: set[asyncio.Task[Recording]]


def create_app(*, api_key: str | None = None, base_url: str | None = None) -> web.Application:
    app = web.Application(client_max_size=200 * 1024 * 1024)

    async def client_context(app: web.Application) -> AsyncIterator[None]:
        client = VoiceClient(api_key=api_key, base_url=base_url)
        app[CLIENT] = client
        project = await client.projects.create("web backend")
        app[FOLDER] = (await client.folders.create(project.id, "uploads")).id
        app[WORK] = set()
        yield
        await asyncio.gather(*app[WORK], return_exceptions=True)  # paid work finishes first
        await client.close()

    app.cleanup_ctx.append(client_context)
    app.router.add_post("/convert", convert)
    return app


async def convert(request: web.Request) -> web.StreamResponse:
    client, folder_id = request.app[CLIENT], request.app[FOLDER]
    try:
        voice = await client.voices.resolve(request.query.get("voice", ""))
        semitones = float(request.query.get("semitones", "0"))
        reader = await request.multipart()
        part = await reader.next()
        if part is None or getattr(part, "name", None) != "file":
            raise web.HTTPBadRequest(text="send the audio as a multipart part named 'file'\n")

        async def chunks() -> AsyncIterator[bytes]:  # streamed through, never held whole
            while chunk := await part.read_chunk():  # type: ignore[union-attr]
                yield chunk

        label = sanitize_label(getattr(part, "filename", None) or "upload")
        original = await client.recordings.create(folder_id, chunks(), label=label)
        target = ConversionTarget(voice_id=voice.id, semitones_correction=semitones or None)
        work = asyncio.create_task(_order_and_wait(client, original, target))
        request.app[WORK].add(work)
        work.add_done_callback(request.app[WORK].discard)
        converted = await asyncio.shield(work)  # a disconnect cancels this wait, not the work
        if converted.state is not RecordingState.DONE:
            raise web.HTTPBadGateway(text=f"conversion failed: {converted.error}\n")
    except UnknownVoiceError as exc:  # no voice by that id or exact name; the message suggests close names
        raise web.HTTPNotFound(text=f"{exc}\n") from None
    except (InvalidRequestError, ValueError) as exc:
        raise web.HTTPBadRequest(text=f"{exc}\n") from None
    except NotFoundError as exc:
        raise web.HTTPNotFound(text=f"{exc}\n") from None
    except VoiceAPIError as exc:
        raise web.HTTPBadGateway(text=f"{exc}\n") from None

    response = web.StreamResponse(headers={"Content-Type": "audio/wav"})
    await response.prepare(request)
    async with client.recordings.stream(converted) as stream:  # the slot is released however we leave
        async for chunk in stream.iter_bytes():
            await response.write(chunk)
    await response.write_eof()
    return response


async def _order_and_wait(client: VoiceClient, original: Recording, target: ConversionTarget) -> Recording:
    """The part that costs credits: it runs to the end even if the user has gone."""
    # watch(), not wait(): the requests in flight share the client's rounds, one list call a
    # round for the project however many users wait (wait() would poll each recording).
    [original] = [r async for r in client.recordings.watch([original], interval=0.2, timeout=600)]
    orders = await client.orders.create(original.id, [target])
    conversion = orders[0].conversion_id
    watching = client.recordings.watch([conversion], project_id=original.project_id, interval=0.2, timeout=600)
    [converted] = [r async for r in watching]
    return converted


async def _serve_with_emulator(port: int) -> None:
    from voiceapi_async.emulator import Emulator

    async with Emulator() as emu:
        runner = web.AppRunner(create_app(api_key=emu.api_key, base_url=emu.base_url))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        print(f"converting on http://127.0.0.1:{port}/convert (emulator at {emu.base_url}); Ctrl-C to stop")
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--emulator", action="store_true", help="serve against a local emulator")
    args = parser.parse_args()
    if args.emulator:
        asyncio.run(_serve_with_emulator(args.port))
    else:
        web.run_app(create_app(api_key=os.environ.get("VOICEAPI_API_KEY")), port=args.port)


if __name__ == "__main__":
    main()
