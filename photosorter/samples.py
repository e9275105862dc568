"""Generated sample photos: for the demo on a machine without real photos, and for tests.

The pictures are simple but not trivial: textured backgrounds of random colours with one
planted object (a red disc, a blue square, ...) at a random place and size, saved as JPEG.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

OBJECTS = ("red_disc", "blue_square", "green_triangle")


def background(rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    w, h = size
    # Natural-looking: a random brightness with a mild tint (a saturated blue background would
    # camouflage a blue object, which is not what these samples are meant to test).
    base = rng.integers(50, 200) + rng.integers(-35, 36, size=3)
    noise = rng.normal(0, 28, size=(h // 8 + 1, w // 8 + 1, 3))
    arr = np.clip(base + noise, 0, 255).astype(np.uint8)
    img = Image.fromarray(arr).resize((w, h), Image.Resampling.BICUBIC)
    return img.filter(ImageFilter.GaussianBlur(2))


def plant(img: Image.Image, kind: str, rng: np.random.Generator, rel_size: float = 0.22) -> tuple[int, int, int, int]:
    """Draw one object; returns its bounding box (left, top, right, bottom) in pixels."""
    w, h = img.size
    r = int(min(w, h) * rel_size * rng.uniform(0.8, 1.2) / 2)
    cx, cy = int(rng.integers(r, w - r)), int(rng.integers(r, h - r))
    box = (cx - r, cy - r, cx + r, cy + r)
    d = ImageDraw.Draw(img)
    if kind == "red_disc":
        d.ellipse(box, fill=(220, 30, 30))
    elif kind == "blue_square":
        d.rectangle(box, fill=(30, 60, 220))
    elif kind == "green_triangle":
        d.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=(30, 200, 60))
    else:
        raise ValueError(kind)
    return box


def make_photo(path: Path, objects: tuple[str, ...], seed: int, size: tuple[int, int] = (320, 240),
               rel_size: float = 0.22) -> dict[str, tuple]:
    rng = np.random.default_rng(seed)
    img = background(rng, size)
    boxes = {kind: plant(img, kind, rng, rel_size) for kind in objects}
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, "JPEG", quality=90)
    return boxes


def make_labeled_folder(root: Path, per_category: int = 12, categories: tuple[str, ...] = OBJECTS[:2],
                        none: int = 0, seed: int = 0, size: tuple[int, int] = (320, 240),
                        rel_size: float = 0.22) -> Path:
    """root/<category>/*.jpg with one planted object each, plus root/_none/ with none."""
    n = 0
    for c in categories:
        for i in range(per_category):
            make_photo(root / c / f"{c}_{i:03d}.jpg", (c,), seed * 100_000 + n, size, rel_size)
            n += 1
    for i in range(none):
        make_photo(root / "_none" / f"none_{i:03d}.jpg", (), seed * 100_000 + n, size, rel_size)
        n += 1
    return root


def peak_in_box(heat: np.ndarray, box: tuple[int, int, int, int], size: tuple[int, int]) -> bool:
    """Does a heatmap's peak point at a planted object? The peak cell's centre, mapped onto the
    photo (``size`` = width, height), must lie inside ``box`` grown by one heatmap cell — the
    criterion of the explanation tests and of benchmarks/explain_check.py."""
    h, w = heat.shape
    r, c = np.unravel_index(heat.argmax(), heat.shape)
    cw, ch = size[0] / w, size[1] / h
    left, top, right, bottom = box
    x, y = (c + 0.5) * cw, (r + 0.5) * ch
    return left - cw <= x <= right + cw and top - ch <= y <= bottom + ch
