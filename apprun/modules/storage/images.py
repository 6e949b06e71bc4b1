"""Image transformations: resize and re-encode an object's bytes with Pillow, and keep the
result as a derived blob ``derived/<object version>/<digest>`` so a rendition is computed
once per version. A new upload is a new version, so the cache can never serve a rendition
of replaced bytes, and dropping a version drops its renditions.

As upstream's imgproxy with default settings, an image is never enlarged.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, cast

import anyio
from PIL import Image, ImageOps, UnidentifiedImageError, features

from apprun.modules.storage.blobs import BlobMissing
from apprun.modules.storage.errors import ImageTooLarge, InvalidImage, InvalidRequest
from apprun.modules.storage.kernel import Limits, StorageKernel
from apprun.modules.storage.objects import Stored

Resize = Literal["cover", "contain", "fill"]
RESIZES: Final[tuple[Resize, ...]] = ("cover", "contain", "fill")
FORMATS: Final = ("origin", "webp", "png", "jpeg", "avif")
QUALITY: Final = (20, 100)
DEFAULT_QUALITY: Final = 80
CONTENT_TYPES: Final = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "AVIF": "image/avif",
}
"""The formats a rendition is written in (``origin`` of anything else gives PNG)."""
_MAGIC: Final = (
    (b"\x89PNG", "PNG"),
    (b"\xff\xd8", "JPEG"),
    (b"GIF8", "GIF"),
)


@dataclass(frozen=True)
class Transform:
    """A normalised transformation request."""

    width: int | None = None
    height: int | None = None
    resize: Resize = "cover"
    format: str | None = None
    """None: negotiate from ``Accept``; else one of FORMATS."""
    quality: int = DEFAULT_QUALITY

    @classmethod
    def parse(cls, params: Mapping[str, Any], max_dimension: int) -> Transform:
        """From query parameters (strings) or a signed token's ``transformations`` (a JSON
        object or upstream's ``"width:200,resize:cover"``). InvalidRequest names the field."""
        return cls(
            width=_dimension(params, "width", max_dimension),
            height=_dimension(params, "height", max_dimension),
            resize=cast(Resize, _choice(params, "resize", RESIZES) or "cover"),
            format=_choice(params, "format", FORMATS),
            quality=_quality(params),
        )

    @classmethod
    def from_claim(cls, claim: Any, max_dimension: int) -> Transform:
        if isinstance(claim, str):
            pairs = (part.split(":", 1) for part in claim.split(",") if ":" in part)
            claim = {name.strip(): value.strip() for name, value in pairs}
        if not isinstance(claim, dict):
            raise InvalidRequest("The token's transformations are invalid")
        return cls.parse(claim, max_dimension)

    def output(self, accept: str) -> str:
        """The requested output: ``webp`` when negotiated, else ``origin`` or the format."""
        if self.format is None:
            return "webp" if "image/webp" in accept.lower() else "origin"
        return self.format

    def describe(self) -> str:
        """``X-Transformations``: the normalised request."""
        parts = [f"width:{self.width}"] if self.width else []
        parts += [f"height:{self.height}"] if self.height else []
        parts += [f"resize:{self.resize}", f"quality:{self.quality}"]
        if self.format:
            parts.append(f"format:{self.format}")
        return ",".join(parts)

    def cache_key(self, version: str, output: str) -> str:
        digest = hashlib.sha256(f"{self.describe()}|output:{output}".encode()).hexdigest()
        return f"derived/{version}/{digest}"


def _raw(params: Mapping[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    return str(value).strip().lower()


def _integer(params: Mapping[str, Any], name: str) -> int | None:
    raw = _raw(params, name)
    if raw is None:
        return None
    if not raw.isdigit():
        raise InvalidRequest(f"querystring/{name} must be an integer >= 0", details={"field": name})
    return int(raw)


def _dimension(params: Mapping[str, Any], name: str, most: int) -> int | None:
    """A width or height clamped to [1, most]; 0 means "not given" (imgproxy's auto)."""
    value = _integer(params, name)
    return None if not value else min(value, most)


def _quality(params: Mapping[str, Any]) -> int:
    value = _integer(params, "quality")
    if value is None:
        return DEFAULT_QUALITY
    if not QUALITY[0] <= value <= QUALITY[1]:
        raise InvalidRequest(
            f"querystring/quality must be between {QUALITY[0]} and {QUALITY[1]}",
            details={"field": "quality"},
        )
    return value


def _choice(params: Mapping[str, Any], name: str, allowed: tuple[str, ...]) -> str | None:
    raw = _raw(params, name)
    if raw is None:
        return None
    for option in allowed:
        if raw == option:
            return option
    raise InvalidRequest(
        f"querystring/{name} must be one of {', '.join(allowed)}", details={"field": name}
    )


# Pure Pillow work (run in a worker thread)
def target_size(
    source: tuple[int, int], transform: Transform
) -> tuple[tuple[int, int], tuple[int, int] | None]:
    """(size to scale to, size to centre-crop to or None), never larger than the source."""
    sw, sh = source
    w, h = transform.width, transform.height
    if w is None and h is None:
        return source, None
    if w is None or h is None:
        scale = min(w / sw if w else (h or sh) / sh, 1.0)
        return (max(1, round(sw * scale)), max(1, round(sh * scale))), None
    if transform.resize == "fill":
        return (min(w, sw), min(h, sh)), None
    if transform.resize == "contain":
        scale = min(w / sw, h / sh, 1.0)
        return (max(1, round(sw * scale)), max(1, round(sh * scale))), None
    scale = min(max(w / sw, h / sh), 1.0)
    scaled = (max(1, round(sw * scale)), max(1, round(sh * scale)))
    return scaled, (min(w, scaled[0]), min(h, scaled[1]))


def transform_image(
    data: bytes, transform: Transform, output: str, max_pixels: int
) -> tuple[bytes, str]:
    """Decode, resize and encode → (bytes, Pillow format). InvalidImage when the bytes are
    not an image Pillow reads; ImageTooLarge past ``max_pixels`` (checked on the header,
    before any pixel is decoded)."""
    try:
        with Image.open(io.BytesIO(data)) as source:
            width, height = source.size
            if width * height > max_pixels:
                raise ImageTooLarge(details={"pixels": width * height, "limit": max_pixels})
            source_format = source.format or "PNG"
            image = ImageOps.exif_transpose(source)
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageTooLarge(details={"limit": max_pixels}) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise InvalidImage() from None
    size, crop = target_size(image.size, transform)
    if size != image.size:
        image = image.resize(size, Image.Resampling.LANCZOS)
    if crop is not None and crop != image.size:
        left, top = (image.width - crop[0]) // 2, (image.height - crop[1]) // 2
        image = image.crop((left, top, left + crop[0], top + crop[1]))
    target = source_format if output == "origin" else output.upper()
    if target not in CONTENT_TYPES:
        target = "PNG"
    return _encode(image, target, transform.quality), target


def _encode(image: Image.Image, target: str, quality: int) -> bytes:
    if target == "JPEG" and image.mode not in ("RGB", "L"):
        image = _flatten(image)
    elif target != "GIF" and image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    buffer = io.BytesIO()
    options: dict[str, Any] = {}
    if target in ("JPEG", "WEBP", "AVIF"):
        options["quality"] = quality
    if target == "PNG":
        options["optimize"] = True
    image.save(buffer, format=target, **options)
    return buffer.getvalue()


def _flatten(image: Image.Image) -> Image.Image:
    """JPEG has no alpha: composite on white."""
    rgba = image.convert("RGBA")
    background = Image.new("RGB", rgba.size, (255, 255, 255))
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


def sniff(data: bytes) -> str:
    """The format of a stored rendition, from its first bytes."""
    for magic, name in _MAGIC:
        if data.startswith(magic):
            return name
    if data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp":
        return "AVIF"
    return "PNG"


def check_output(transform: Transform) -> None:
    if transform.format == "avif" and not features.check("avif"):
        raise InvalidRequest(
            "querystring/format avif is not supported by this server", details={"field": "format"}
        )


@dataclass(frozen=True)
class Rendition:
    data: bytes
    content_type: str
    cached: bool


class ImageService:
    """Renditions of stored objects, cached in the project's blob store."""

    def __init__(self, kernel: StorageKernel) -> None:
        self.k = kernel
        self.renders = 0
        """How many renditions Pillow computed (the cache's hits do not count)."""
        protect(kernel.limits)

    @property
    def max_dimension(self) -> int:
        return self.k.limits.image_max_dimension

    async def render(self, stored: Stored, transform: Transform, accept: str) -> Rendition:
        check_output(transform)
        output = transform.output(accept)
        key = transform.cache_key(stored.version, output)
        blobs = self.k.blobs.project(stored.project)
        try:
            cached = await _read_all(await blobs.open(key))
        except BlobMissing:
            cached = None
        if cached:
            return Rendition(cached, CONTENT_TYPES[sniff(cached)], True)
        source = await _read_all(await stored.open())
        limit = self.k.limits.image_max_source_pixels
        data, target = await anyio.to_thread.run_sync(
            transform_image, source, transform, output, limit
        )
        self.renders += 1
        await blobs.write(key, _once(data))
        return Rendition(data, CONTENT_TYPES[target], False)


def protect(limits: Limits) -> None:
    """Pillow's own decompression-bomb guard, at the configured source limit (it refuses
    before decoding; ``transform_image`` checks the exact limit too)."""
    Image.MAX_IMAGE_PIXELS = limits.image_max_source_pixels


async def _read_all(chunks: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in chunks])


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data
