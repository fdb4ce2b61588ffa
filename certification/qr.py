"""QR codes for printed certificates, drawn as inline SVG by segno (no images, no network)."""

import io

import segno


def svg(text, scale=3):
    """An <svg> element that encodes `text`, ready to place in a page."""
    out = io.BytesIO()
    segno.make(text, error="m").save(
        out, kind="svg", scale=scale, xmldecl=False, svgns=True, title="Verification code",
        dark="#000", light="#fff",
    )  # fmt: skip
    return out.getvalue().decode()
