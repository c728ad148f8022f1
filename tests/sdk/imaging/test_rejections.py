"""Every kind of unacceptable upload is refused with its own, actionable message."""

from __future__ import annotations

import io
import re
from collections.abc import Callable

import pytest
from PIL import Image, ImageFile

from wearit_storage.errors import ImageRejected, StorageError
from wearit_storage.imaging import ImageLimits, ImageProcessor

from . import corpus

CALLS: dict[str, Callable[[bytes, ImageLimits | None], object]] = {
    "resize_image": lambda data, limits: ImageProcessor.resize_image(data, limits=limits),
    "create_thumbnail": lambda data, limits: ImageProcessor.create_thumbnail(data, limits=limits),
    "render": lambda data, limits: ImageProcessor.render(data, limits=limits),
}


@pytest.fixture(params=sorted(CALLS))
def process(request: pytest.FixtureRequest) -> Callable[[bytes, ImageLimits | None], object]:
    return CALLS[request.param]


def _rejected(
    process: Callable[[bytes, ImageLimits | None], object],
    data: bytes,
    limits: ImageLimits | None = None,
) -> str:
    with pytest.raises(ImageRejected) as caught:
        process(data, limits)
    return str(caught.value)


@pytest.fixture
def no_pixel_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if any decoder is asked for pixels."""

    def forbidden(self: ImageFile.ImageFile) -> None:
        raise AssertionError("pixels were decoded before the image was rejected")

    monkeypatch.setattr(ImageFile.ImageFile, "load", forbidden)


def test_rejection_is_a_storage_error_and_a_value_error() -> None:
    assert issubclass(ImageRejected, StorageError)
    assert issubclass(ImageRejected, ValueError)


def test_empty_upload(process: Callable[[bytes, ImageLimits | None], object]) -> None:
    assert "upload is empty (0 bytes)" in _rejected(process, corpus.EMPTY)


@pytest.mark.usefixtures("no_pixel_decoding")
def test_over_byte_limit(process: Callable[[bytes, ImageLimits | None], object]) -> None:
    data = corpus.textured_jpeg((400, 300))
    limits = ImageLimits(max_bytes=10 * 1024)
    message = _rejected(process, data, limits)
    assert re.fullmatch(r"the image is \d+(\.\d)? KB, over the 10 KB limit: .*", message), message
    assert "lower resolution" in message


def test_default_byte_limit_is_the_upload_limit_of_15_mb(
    process: Callable[[bytes, ImageLimits | None], object],
) -> None:
    message = _rejected(process, b"\xff\xd8\xff" + bytes(15 * 1024 * 1024))
    assert message.startswith("the image is 15 MB, over the 15 MB limit")


def test_text_file_named_jpg(process: Callable[[bytes, ImageLimits | None], object]) -> None:
    message = _rejected(process, corpus.TEXT_NAMED_JPG)
    assert message == (
        "the file is not an image we can read; upload a JPEG, PNG, WebP, AVIF, HEIC/HEIF photo"
    )


@pytest.mark.parametrize(
    ("make", "name"), [(corpus.gif, "GIF"), (corpus.bmp, "BMP"), (corpus.tiff, "TIFF")]
)
def test_valid_images_in_other_formats(
    process: Callable[[bytes, ImageLimits | None], object], make: Callable[[], bytes], name: str
) -> None:
    assert Image.open(io.BytesIO(make())).format == name  # really a valid image
    message = _rejected(process, make())
    assert (
        message == f"{name} images are not accepted; convert it to JPEG, PNG, WebP, AVIF, HEIC/HEIF"
    )


def test_a_truncated_avif_is_named(
    process: Callable[[bytes, ImageLimits | None], object],
) -> None:
    avif_header = b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf"
    assert _rejected(process, avif_header).startswith(
        "the file looks like AVIF but its header is corrupt"
    )


@pytest.mark.parametrize(
    ("make", "name"),
    [(corpus.png, "PNG"), (corpus.webp, "WEBP"), (corpus.avif, "AVIF"), (corpus.heic, "HEIF")],
)
def test_formats_can_be_narrowed_by_limits(
    process: Callable[[bytes, ImageLimits | None], object], make: Callable[[], bytes], name: str
) -> None:
    message = _rejected(process, make(), ImageLimits(formats=frozenset({"JPEG"})))
    assert message == f"{name} images are not accepted; convert it to JPEG"


def test_jpeg_with_broken_header(process: Callable[[bytes, ImageLimits | None], object]) -> None:
    message = _rejected(process, b"\xff\xd8\xff\xe0" + b"\x00\x02" * 40)
    assert "looks like JPEG but its header is corrupt" in message


def test_truncated_jpeg(process: Callable[[bytes, ImageLimits | None], object]) -> None:
    message = _rejected(process, corpus.truncated_jpeg())
    assert message.startswith("the image data is truncated or corrupt")
    assert "upload the original file again" in message


def test_corrupt_png(process: Callable[[bytes, ImageLimits | None], object]) -> None:
    assert "truncated or corrupt" in _rejected(process, corpus.corrupt_png())


@pytest.mark.usefixtures("no_pixel_decoding")
@pytest.mark.parametrize(
    "make",
    [
        lambda: corpus.bomb_png(100_000, 100_000),  # beyond Pillow's own hard limit
        lambda: corpus.bomb_png(8_000, 8_000),  # 64 MP: only our limit catches it
        lambda: corpus.bomb_jpeg(60_000, 60_000),
        lambda: corpus.bomb_jpeg(7_500, 7_500),
    ],
    ids=["png-10GP", "png-64MP", "jpeg-3.6GP", "jpeg-56MP"],
)
def test_decompression_bomb_is_refused_from_its_header(
    process: Callable[[bytes, ImageLimits | None], object], make: Callable[[], bytes]
) -> None:
    message = _rejected(process, make())
    assert "decompression bomb" in message
    assert "was not decoded" in message


@pytest.mark.usefixtures("no_pixel_decoding")
def test_bomb_message_names_the_declared_size(
    process: Callable[[bytes, ImageLimits | None], object],
) -> None:
    assert "8000x8000 pixels" in _rejected(process, corpus.bomb_png(8_000, 8_000))


@pytest.mark.usefixtures("no_pixel_decoding")
def test_real_photo_over_pixel_limit(
    process: Callable[[bytes, ImageLimits | None], object],
) -> None:
    data = corpus.textured_jpeg((400, 300))
    message = _rejected(process, data, ImageLimits(max_pixels=100_000))
    assert message == (
        "the image is 400x300 (0.1 MP), over the 0.1 MP limit: resize it to at most"
        " 0.1 MP and upload it again"
    )
    assert "bomb" not in message


def test_pixel_limit_is_inclusive() -> None:
    data = corpus.plain_jpeg((400, 250))
    assert ImageProcessor.render(data, limits=ImageLimits(max_pixels=100_000)).main_size


@pytest.mark.parametrize(
    "kwargs",
    [{"main_size": (0, 10)}, {"thumbnail_size": (10,)}, {"main_size": (10.5, 10)}],
)
def test_bad_sizes_are_caller_errors_not_image_rejections(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="must be two positive integers") as caught:
        ImageProcessor.render(corpus.plain_jpeg(), **kwargs)  # type: ignore[arg-type]
    assert not isinstance(caught.value, ImageRejected)
