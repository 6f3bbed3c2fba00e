"""A file from a multipart/form-data body, streamed as it arrives: never spooled to /tmp, never read whole.

FastAPI reads a form (`UploadFile`, `File()`) completely, into temporary files, before the route's dependencies
run, so anyone could make the server read and store gigabytes before the answer "401". A route that takes a form
declares no form parameters, lets its dependencies authenticate, checks what it must, and only then calls
`form_file`, which parses the body with python-multipart's streaming parser while the bytes come in.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request
from starlette.responses import JSONResponse

from appliance.errors import N_, ValidationError

# Form fields other than the file (a browser may send a few), and the multipart framing around it.
FRAMING_BYTES = 256 * 1024


def too_large_response(request: Request, error: ValidationError) -> JSONResponse:
    """413 with the error's sentence in the caller's language (uploads answer before any page sets one)."""
    from appliance import i18n
    from appliance.api.errors import error_response

    token = i18n.current_language.set(i18n.negotiate(request.headers.get('accept-language')))
    try:
        return error_response(413, 'too_large', i18n.translate_error(error), field='file')
    finally:
        i18n.current_language.reset(token)


def is_too_large(error: ValidationError) -> bool:
    """True when a ValidationError of an upload means "over the size limit" (answered with 413)."""
    return error.field == 'file' and 'max_bytes' in error.params


class BodyTooLarge(Exception):
    """The body went past the limit given to `form_file` (framing included)."""


@dataclass
class _Parts:
    """What the parser has seen so far (python-multipart calls back with slices of the chunk being fed)."""

    name: str
    header_field: bytearray = field(default_factory=bytearray)
    header_value: bytearray = field(default_factory=bytearray)
    headers: dict[bytes, bytes] = field(default_factory=dict)
    found: tuple[str, str] | None = None
    in_file: bool = False
    file_done: bool = False
    pending: list[bytes] = field(default_factory=list)

    def on_part_begin(self) -> None:
        self.headers = {}

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[bytes(self.header_field).lower()] = bytes(self.header_value)
        self.header_field.clear()
        self.header_value.clear()

    def on_headers_finished(self) -> None:
        _kind, options = parse_options_header(self.headers.get(b'content-disposition', b''))
        if self.found is None and options.get(b'name', b'').decode('utf-8', 'replace') == self.name:
            filename = options.get(b'filename', b'').decode('utf-8', 'replace')
            content_type = self.headers.get(b'content-type', b'').decode('latin-1')
            self.found = (filename, content_type)
            self.in_file = True

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.in_file:
            self.pending.append(bytes(data[start:end]))

    def on_part_end(self) -> None:
        if self.in_file:
            self.in_file = False
            self.file_done = True


@dataclass
class FormFile:
    """The file part of a form: its name and type as the client sent them, and its bytes as they arrive."""

    filename: str
    content_type: str
    chunks: AsyncIterator[bytes]


async def form_file(request: Request, *, name: str = 'file', max_body: int) -> FormFile:
    """Parse the body until the part called `name` starts; its bytes then stream through `chunks`.

    Raises ValidationError (422) for a body that is not a form or has no such part, and BodyTooLarge as soon as
    more than `max_body` bytes have come in. The rest of the body after the file is not read.
    """
    kind, options = parse_options_header(request.headers.get('content-type', ''))
    boundary = options.get(b'boundary', b'')
    if kind != b'multipart/form-data' or not boundary:
        raise ValidationError(
            N_('Send the file as multipart/form-data in a field named "{name}".'), field=name, name=name
        )
    parts = _Parts(name)
    callbacks = {
        'on_part_begin': parts.on_part_begin,
        'on_header_field': parts.on_header_field,
        'on_header_value': parts.on_header_value,
        'on_header_end': parts.on_header_end,
        'on_headers_finished': parts.on_headers_finished,
        'on_part_data': parts.on_part_data,
        'on_part_end': parts.on_part_end,
    }
    parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
    body = request.stream().__aiter__()
    received = 0

    async def feed() -> bool:
        """Feed the next chunk of the body to the parser; False when the body has ended."""
        nonlocal received
        try:
            chunk = await body.__anext__()
        except StopAsyncIteration:
            return False
        received += len(chunk)
        if received > max_body:
            raise BodyTooLarge
        try:
            parser.write(chunk)
        except FormParserError as error:
            raise ValidationError(
                N_('The form data could not be read: {reason}'), field=name, reason=str(error)
            ) from error
        return True

    while parts.found is None:
        if not await feed():
            raise ValidationError(N_('The form has no field named "{name}".'), field=name, name=name)

    async def chunks() -> AsyncIterator[bytes]:
        while True:
            while parts.pending:
                yield parts.pending.pop(0)
            if parts.file_done:
                return
            if not await feed():
                raise ValidationError(N_('The upload ended before the whole file arrived.'), field=name)

    filename, content_type = parts.found
    return FormFile(filename=filename, content_type=content_type, chunks=chunks())
