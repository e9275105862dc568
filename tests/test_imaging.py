"""Every photo is untrusted input: each bad case gets its own clear error; good odd ones decode."""

from __future__ import annotations

import hashlib
import io
import os
import struct

import numpy as np
import pytest
from conftest import jpeg_bytes
from PIL import Image, PngImagePlugin

from photosorter import errors, imaging


def sha(p):
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_zero_byte_file(write):
    p = write("empty.jpg", b"")
    with pytest.raises(errors.EmptyFileError, match="empty"):
        imaging.load_image(p)


def test_random_bytes_named_jpg(write):
    p = write("noise.jpg", np.random.default_rng(1).integers(0, 255, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(errors.NotAnImageError, match="not an image"):
        imaging.load_image(p)


def test_text_file_is_not_an_image(write):
    with pytest.raises(errors.NotAnImageError):
        imaging.load_image(write("notes.png", b"hello, this is text\n" * 20))


@pytest.mark.parametrize("fraction", [0.2, 0.5, 0.9, 0.98])
def test_truncated_jpeg_is_refused_not_grey_filled(write, fraction):
    data = jpeg_bytes((400, 300))
    p = write("cut.jpg", data[: int(len(data) * fraction)])
    with pytest.raises(errors.TruncatedImageError, match="truncated"):
        imaging.load_image(p)
    with pytest.raises(errors.TruncatedImageError):
        imaging.load_image(p, min_side=64)  # the draft path too


def test_pixel_bomb_refused_before_decoding(write):
    # A valid PNG header claiming 50,000 x 50,000 pixels (2.5 GP) with a tiny body.
    def chunk(kind, payload):
        import zlib
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
    import zlib
    ihdr = struct.pack(">IIBBBBB", 50_000, 50_000, 8, 2, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b"")
    p = write("bomb.png", png)
    with pytest.raises(errors.ImageTooLargeError, match="MP"):
        imaging.load_image(p)


def test_huge_text_chunk_png(write):
    info = PngImagePlugin.PngInfo()
    info.add_text("comment", "x" * (16 * 1024 * 1024), zip=True)
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "PNG", pnginfo=info)
    with pytest.raises(errors.CorruptImageError, match="malformed"):
        imaging.load_image(write("text.png", buf.getvalue()))


def test_unsupported_format_named(write):
    buf = io.BytesIO()
    Image.new("RGB", (32, 32)).save(buf, "ICO")
    with pytest.raises(errors.UnsupportedFormatError, match="ICO files are not supported"):
        imaging.load_image(write("icon.jpg", buf.getvalue()))


def test_directory_named_like_image(tmp_path):
    d = tmp_path / "x.jpg"
    d.mkdir()
    with pytest.raises(errors.NotARegularFileError, match="folder"):
        imaging.load_image(d)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
@pytest.mark.timeout(10)
def test_fifo_named_like_image_does_not_hang(tmp_path):
    f = tmp_path / "pipe.jpg"
    os.mkfifo(f)
    with pytest.raises(errors.NotARegularFileError, match="FIFO"):
        imaging.load_image(f)


def test_symlink_loop(tmp_path):
    a, b = tmp_path / "a.jpg", tmp_path / "b.jpg"
    a.symlink_to(b)
    b.symlink_to(a)
    with pytest.raises(errors.UnreadableFileError, match="loop"):
        imaging.load_image(a)


def test_missing_file(tmp_path):
    with pytest.raises(errors.UnreadableFileError, match="no longer exists"):
        imaging.load_image(tmp_path / "gone.jpg")


def test_unreadable_file(write, monkeypatch):
    p = write("secret.jpg", jpeg_bytes())
    if os.geteuid() != 0:
        p.chmod(0)
    else:  # root reads everything: simulate the kernel's answer instead
        real_open = os.open
        monkeypatch.setattr(os, "open", lambda path, *a, **k: (_ for _ in ()).throw(PermissionError(13, "denied")) if str(path) == str(p) else real_open(path, *a, **k))
    with pytest.raises(errors.UnreadableFileError, match="Permission denied"):
        imaging.load_image(p)


def test_oversized_file_refused(write):
    p = write("big.jpg", jpeg_bytes())
    with pytest.raises(errors.FileTooLargeError):
        imaging.read_file_bytes(p, max_bytes=100)


# --------------------------------------------------------------------------- good odd files


def _orientation_jpeg(orientation: int) -> tuple[bytes, Image.Image]:
    """A 60x40 picture, red in its top-left quarter as displayed, stored so that applying the
    EXIF orientation shows it upright."""
    shown = Image.new("RGB", (60, 40), (0, 0, 255))
    shown.paste((255, 0, 0), (0, 0, 30, 20))
    inverse = {
        1: lambda im: im,
        2: lambda im: im.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
        3: lambda im: im.transpose(Image.Transpose.ROTATE_180),
        4: lambda im: im.transpose(Image.Transpose.FLIP_TOP_BOTTOM),
        5: lambda im: im.transpose(Image.Transpose.TRANSPOSE),
        6: lambda im: im.transpose(Image.Transpose.ROTATE_90),
        7: lambda im: im.transpose(Image.Transpose.TRANSVERSE),
        8: lambda im: im.transpose(Image.Transpose.ROTATE_270),
    }[orientation]
    stored = inverse(shown)
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    stored.save(buf, "JPEG", quality=95, exif=exif.tobytes())
    return buf.getvalue(), shown


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_applied_and_file_untouched(write, orientation):
    data, _shown = _orientation_jpeg(orientation)
    p = write(f"o{orientation}.jpg", data)
    before = sha(p), p.stat().st_mtime_ns
    loaded = imaging.load_image(p)
    assert loaded.image.size == (60, 40)
    assert loaded.size == (60, 40)
    r, _g, b = loaded.image.getpixel((10, 8))
    assert r > 200 and b < 60, f"top-left should be red for orientation {orientation}"
    r, _g, b = loaded.image.getpixel((50, 30))
    assert b > 200 and r < 60
    assert (sha(p), p.stat().st_mtime_ns) == before
    assert loaded.sha256 == before[0]


def test_cmyk_jpeg_becomes_rgb(write):
    buf = io.BytesIO()
    Image.new("CMYK", (40, 30), (0, 255, 255, 0)).save(buf, "JPEG")  # red in CMYK
    img = imaging.load_image(write("cmyk.jpg", buf.getvalue())).image
    assert img.mode == "RGB"
    r, g, b = img.getpixel((20, 15))
    assert r > 200 and g < 60 and b < 60


def test_16bit_greyscale_keeps_its_range(write):
    arr = np.tile(np.linspace(0, 65535, 64, dtype=np.uint16), (16, 1))
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    img = imaging.load_image(write("deep.png", buf.getvalue())).image
    assert img.mode == "RGB"
    lo, hi = img.getextrema()[0]
    assert lo < 10 and hi > 245  # not clipped to white, not crushed to black
    assert img.getpixel((32, 8))[0] == pytest.approx(128, abs=8)


def test_palette_with_transparency_composited_on_white(write):
    img = Image.new("P", (20, 20), 0)
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    img.paste(1, (0, 0, 10, 20))
    buf = io.BytesIO()
    img.save(buf, "PNG", transparency=0)
    out = imaging.load_image(write("pal.png", buf.getvalue())).image
    assert out.getpixel((5, 5)) == (255, 0, 0)
    assert out.getpixel((15, 5)) == (255, 255, 255)


def test_alpha_and_greyscale_alpha(write):
    buf = io.BytesIO()
    Image.new("LA", (10, 10), (0, 0)).save(buf, "PNG")
    assert imaging.load_image(write("la.png", buf.getvalue())).image.getpixel((5, 5)) == (255, 255, 255)


def test_animated_gif_uses_first_frame(write):
    frames = [Image.new("RGB", (16, 16), c) for c in [(255, 0, 0), (0, 255, 0), (0, 0, 255)]]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=50)
    r, g, _b = imaging.load_image(write("anim.gif", buf.getvalue())).image.getpixel((8, 8))
    assert r > 200 and g < 50


@pytest.mark.skipif(not imaging.HEIF_AVAILABLE, reason="pillow-heif not available")
def test_heic_decodes(write):
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (0, 200, 0)).save(buf, "HEIF", quality=90)
    img = imaging.load_image(write("iphone.heic", buf.getvalue())).image
    assert img.size == (64, 48) and img.getpixel((30, 20))[1] > 150


def test_draft_decoding_downscales_big_jpeg(write):
    p = write("big.jpg", jpeg_bytes((2048, 1536)))
    loaded = imaging.load_image(p, min_side=224)
    assert loaded.size == (2048, 1536)  # full size is still reported
    assert min(loaded.image.size) >= 224
    assert loaded.image.size[0] <= 512  # decoded at 1/4 scale or smaller


def test_content_hash_is_sha256_of_bytes(write):
    data = jpeg_bytes()
    p = write("a.jpg", data)
    assert imaging.load_image(p).sha256 == hashlib.sha256(data).hexdigest() == imaging.file_hash(p)
