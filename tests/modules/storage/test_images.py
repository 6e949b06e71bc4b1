"""Image transformations: sizes per resize mode, format negotiation, limits, access and the
rendition cache."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from apprun.config import Settings
from apprun.testing.databases import TestDatabase
from tests.modules.storage.conftest import Kit, storage_error

pytestmark = pytest.mark.anyio
MAX_DIMENSION = 300
MAX_PIXELS = 400 * 400
RENDER = "/storage/v1/render/image"


@pytest.fixture
def settings(database: TestDatabase) -> Settings:
    return database.settings(
        storage={"image_max_dimension": MAX_DIMENSION, "image_max_source_pixels": MAX_PIXELS}
    )


def picture(width: int, height: int, kind: str = "PNG", colour: str = "red") -> bytes:
    buffer = io.BytesIO()
    mode = "RGBA" if kind == "PNG" else "RGB"
    Image.new(mode, (width, height), colour).save(buffer, format=kind)
    return buffer.getvalue()


def opened(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


async def seed(kit: Kit, *, public: bool = False) -> dict[str, str]:
    await kit.bucket("pics", public=public)
    response = await kit.put("pics", "a.png", picture(200, 100), content_type="image/png")
    assert response.status_code == 200, response.text
    response = await kit.put("pics", "b.jpg", picture(200, 100, "JPEG"), content_type="image/jpeg")
    assert response.status_code == 200, response.text
    return await kit.service()


def renders(kit: Kit) -> int:
    return kit.env.services.storage.images.renders


@pytest.mark.parametrize(
    ("query", "size"),
    [
        ("width=100&height=100", (100, 100)),  # cover: scale to cover, centre-crop
        ("width=100&height=100&resize=contain", (100, 50)),
        ("width=100&height=100&resize=fill", (100, 100)),
        ("width=50", (50, 25)),  # one dimension keeps the ratio
        ("height=20", (40, 20)),
        ("width=400", (200, 100)),  # never enlarged
        ("width=400&height=400&resize=fill", (200, 100)),
        ("width=150&height=150", (150, 100)),  # cover without enlarging: crop what there is
        ("width=0", (200, 100)),  # 0 is "auto", as imgproxy reads it
        ("width=0&height=20", (40, 20)),
        ("", (200, 100)),
    ],
)
async def test_resize_modes(kit: Kit, query: str, size: tuple[int, int]) -> None:
    headers = await seed(kit)
    response = await kit.client.get(f"{RENDER}/authenticated/pics/a.png?{query}", headers=headers)
    assert response.status_code == 200, response.text
    assert opened(response.content).size == size


async def test_dimensions_are_clamped_to_the_maximum(kit: Kit) -> None:
    headers = await kit.service()
    await kit.bucket("pics")
    await kit.put("pics", "big.png", picture(390, 390), content_type="image/png")
    response = await kit.client.get(
        f"{RENDER}/authenticated/pics/big.png?width=5000&height=5000", headers=headers
    )
    assert response.status_code == 200, response.text
    assert opened(response.content).size == (MAX_DIMENSION, MAX_DIMENSION)


@pytest.mark.parametrize(
    ("key", "query", "accept", "content_type"),
    [
        ("a.png", "", "image/avif,image/webp,*/*", "image/webp"),
        ("a.png", "", "image/png,*/*", "image/png"),
        ("b.jpg", "", "", "image/jpeg"),
        ("a.png", "format=origin", "image/webp", "image/png"),
        ("a.png", "format=jpeg", "", "image/jpeg"),
        ("b.jpg", "format=png", "image/webp", "image/png"),
        ("b.jpg", "format=webp", "", "image/webp"),
        ("b.jpg", "format=avif", "", "image/avif"),
    ],
)
async def test_format_negotiation(
    kit: Kit, key: str, query: str, accept: str, content_type: str
) -> None:
    headers = await seed(kit)
    response = await kit.client.get(
        f"{RENDER}/authenticated/pics/{key}?width=40&{query}",
        headers={**headers, "accept": accept},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == content_type
    assert response.headers["content-length"] == str(len(response.content))
    assert CONTENT_TYPE_OF[opened(response.content).format or ""] == content_type


CONTENT_TYPE_OF = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "WEBP": "image/webp",
    "AVIF": "image/avif",
}


async def test_quality_changes_the_jpeg(kit: Kit) -> None:
    headers = await seed(kit)
    await kit.put("pics", "noise.png", noise(120), content_type="image/png")
    low = await kit.client.get(
        f"{RENDER}/authenticated/pics/noise.png?format=jpeg&quality=20", headers=headers
    )
    high = await kit.client.get(
        f"{RENDER}/authenticated/pics/noise.png?format=jpeg&quality=100", headers=headers
    )
    assert low.status_code == high.status_code == 200
    assert len(low.content) < len(high.content)


def noise(side: int) -> bytes:
    image = Image.effect_noise((side, side), 64).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("quality=19", "quality"),
        ("quality=101", "quality"),
        ("quality=high", "quality"),
        ("width=-1", "width"),
        ("height=abc", "height"),
        ("resize=crop", "resize"),
        ("format=gif", "format"),
    ],
)
async def test_invalid_parameters(kit: Kit, query: str, field: str) -> None:
    headers = await seed(kit)
    response = await kit.client.get(f"{RENDER}/authenticated/pics/a.png?{query}", headers=headers)
    assert storage_error(response) == (400, "400", "InvalidRequest")
    assert field in response.json()["message"]


async def test_a_source_that_is_not_an_image_is_refused(kit: Kit) -> None:
    headers = await seed(kit)
    await kit.put("pics", "notes.txt", b"not an image")
    await kit.put("pics", "broken.png", picture(50, 50)[:40], content_type="image/png")
    for key in ("notes.txt", "broken.png"):
        response = await kit.client.get(
            f"{RENDER}/authenticated/pics/{key}?width=10", headers=headers
        )
        assert storage_error(response) == (400, "400", "InvalidImage")
        assert response.json()["message"] == (
            "The source image is invalid or unsupported for rendering"
        )


async def test_a_source_past_the_pixel_limit_is_refused(kit: Kit) -> None:
    headers = await seed(kit)
    # 401 x 400 is one column past the limit; 1000 x 1000 past Pillow's own bomb guard (2x)
    for width, height in ((401, 400), (1000, 1000)):
        await kit.put("pics", f"huge{width}.png", picture(width, height), content_type="image/png")
        response = await kit.client.get(
            f"{RENDER}/authenticated/pics/huge{width}.png?width=10", headers=headers
        )
        assert storage_error(response) == (400, "413", "ImageTooLarge")
    assert renders(kit) == 0


async def test_public_and_private_buckets(kit: Kit) -> None:
    await seed(kit)
    anon = await kit.anon()
    private = await kit.client.get(f"{RENDER}/public/pics/a.png?width=10")
    assert storage_error(private) == (400, "404", "NoSuchBucket")
    denied = await kit.client.get(f"{RENDER}/authenticated/pics/a.png?width=10", headers=anon)
    assert storage_error(denied) == (400, "404", "NoSuchKey")
    missing_auth = await kit.client.get(f"{RENDER}/authenticated/pics/a.png?width=10")
    assert missing_auth.status_code == 400
    await kit.bucket("open", public=True)
    await kit.put("open", "a.png", picture(80, 40), content_type="image/png")
    public = await kit.client.get(f"{RENDER}/public/open/a.png?width=10")
    assert public.status_code == 200, public.text
    assert opened(public.content).size == (10, 5)


async def test_signed_render_url(kit: Kit) -> None:
    headers = await seed(kit)
    signed = await kit.client.post(
        "/storage/v1/object/sign/pics/a.png",
        headers=headers,
        json={"expiresIn": 60, "transform": {"width": 50}},
    )
    assert signed.status_code == 200, signed.text
    url = signed.json()["signedURL"]
    assert url.startswith("/render/image/sign/pics/a.png?token=")
    response = await kit.client.get(f"/storage/v1{url}&width=150")  # the query is ignored
    assert response.status_code == 200, response.text
    assert opened(response.content).size == (50, 25)
    assert "expires" in response.headers
    assert "cache-control" not in response.headers
    token = url.split("token=")[1]
    other = await kit.client.get(f"{RENDER}/sign/pics/b.jpg?token={token}")
    assert storage_error(other) == (400, "400", "InvalidSignature")


async def test_headers_validators_and_download(kit: Kit) -> None:
    headers = await seed(kit)
    info = await kit.client.get("/storage/v1/object/info/pics/a.png", headers=headers)
    url = f"{RENDER}/authenticated/pics/a.png?width=20&format=png&download=small.png"
    response = await kit.client.get(url, headers=headers)
    assert response.status_code == 200
    assert response.headers["etag"] == info.json()["etag"]
    assert response.headers["cache-control"] == "no-cache"
    assert "last-modified" in response.headers
    assert response.headers["x-transformations"] == "width:20,resize:cover,quality:80,format:png"
    assert response.headers["content-disposition"].startswith('attachment; filename="small.png"')
    again = await kit.client.get(
        url, headers={**headers, "if-none-match": response.headers["etag"]}
    )
    assert again.status_code == 304
    assert again.content == b""


async def test_renditions_are_cached_per_version(kit: Kit) -> None:
    headers = await seed(kit)
    url = f"{RENDER}/authenticated/pics/a.png?width=30&format=png"
    first = await kit.client.get(url, headers=headers)
    second = await kit.client.get(url, headers=headers)
    assert first.content == second.content
    assert second.headers["content-type"] == "image/png"
    assert renders(kit) == 1
    blobs = kit.env.services.storage.blobs.project(kit.project)
    derived = [entry.key async for entry in blobs.list("derived/")]
    assert len(derived) == 1
    replaced = await kit.put(
        "pics",
        "a.png",
        picture(60, 60, colour="blue"),
        content_type="image/png",
        **{"x-upsert": "true"},
    )
    assert replaced.status_code == 200, replaced.text
    third = await kit.client.get(url, headers=headers)
    assert renders(kit) == 2
    assert opened(third.content).size == (30, 30)
    assert [entry.key async for entry in blobs.list("derived/")] != derived
    assert not [entry async for entry in blobs.list(derived[0].rsplit("/", 1)[0] + "/")]
