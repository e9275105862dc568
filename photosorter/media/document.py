"""Screenshots and documents: deliberate rules for alpha, extreme shapes and PDFs.

* **Transparency** (PNG screenshots, stickers): composited on white, what every viewer and
  chat app shows (imaging.to_rgb). Dropping alpha instead would expose whatever colour the
  transparent pixels happen to hold (often black), changing the picture the network sees.
* **Very tall or very wide images** (scrolling screenshots, panoramas): the network squeezes the
  whole picture into a square, which is harmless up to about 3:1 (a phone screenshot is ~2.2:1)
  but turns a 10:1 scrolling capture into thin stripes. Beyond MAX_ASPECT we score a 3:1 window:
  the *top* of a tall image (the part that identifies a scrolled page or chat: its header, the
  first screen) and the *centre* of a wide one (a panorama's subject is rarely at its edge).
* **PDF** (scanned documents, receipts): supported through pdfium (pypdfium2, the engine of
  Chrome's PDF viewer, fuzzed continuously). Only the first page is rendered, white background,
  at most RENDER_SIDE pixels on its longer side, so a poster-sized page costs the same as a
  receipt. Encrypted or damaged PDFs are refused with a clear reason.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from .. import errors, imaging
from . import MediaViews

MAX_ASPECT = 3.0
RENDER_SIDE = 1024


def scoring_window(size: tuple[int, int]) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the part of a ``size`` image that is scored: all of it,
    unless it is more than 3:1 (then the top of a tall one, the centre of a wide one)."""
    w, h = size
    if h > MAX_ASPECT * w:
        return 0, 0, w, max(1, round(MAX_ASPECT * w))
    if w > MAX_ASPECT * h:
        keep = max(1, round(MAX_ASPECT * h))
        left = (w - keep) // 2
        return left, 0, left + keep, h
    return 0, 0, w, h


def scoring_view(img: Image.Image) -> Image.Image:
    """The part of an image that is scored: all of it, unless it is more than 3:1."""
    box = scoring_window(img.size)
    return img if box == (0, 0, *img.size) else img.crop(box)


def load_pdf(path: Path) -> MediaViews:
    """The first page of a PDF, rendered small on white."""
    import pypdfium2 as pdfium

    data = imaging.read_file_bytes(path)
    sha = imaging.content_hash(data)
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        text = str(exc).lower()
        if "password" in text:
            raise errors.UnsupportedFormatError("This PDF is password-protected; photosorter cannot look inside it.", path=path) from None
        raise errors.CorruptImageError(f"The PDF is damaged or truncated ({exc}).", path=path) from None
    try:
        if len(pdf) == 0:
            raise errors.CorruptImageError("The PDF has no pages.", path=path)
        page = pdf[0]
        w_pt, h_pt = page.get_size()
        if w_pt <= 0 or h_pt <= 0:
            raise errors.CorruptImageError("The PDF's first page has no area.", path=path)
        scale = min(RENDER_SIDE / max(w_pt, h_pt), 4.0)
        img = page.render(scale=scale, fill_color=(255, 255, 255, 255)).to_pil().convert("RGB")
        size = img.size
    except pdfium.PdfiumError as exc:
        raise errors.CorruptImageError(f"The PDF's first page cannot be rendered ({exc}).", path=path) from None
    finally:
        pdf.close()
    return MediaViews([img], sha, size, "stills", source="pdf page 1")
