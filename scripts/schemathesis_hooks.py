"""Schemathesis hooks for scripts/schemathesis.sh.

tus chunks (PATCH /v1/uploads/{id}) are sent as
application/offset+octet-stream, a media type schemathesis has no
serializer for: the generated value is sent as its bytes.
"""

import schemathesis


@schemathesis.serializer("application/offset+octet-stream")
def offset_octet_stream(ctx, value):
    if isinstance(value, bytes):
        return value
    return str(value).encode()
