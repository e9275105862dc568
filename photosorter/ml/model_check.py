"""Everything a model file says, checked before any of it is used.

The checksum in a model file only proves that the file is intact, not that it is honest: anyone
can edit a value and recompute it. So every field of the description is checked for its type and
range, and every tensor for its name, dtype, shape and finite values, *before* anything is built
from them. Sizes are never taken from the description: they are read off the tensors actually in
the file (which safetensors has already bounded by the file's size), and the description must
agree with them. So loading allocates at most a small multiple of the file's own size, whatever
the numbers in it say.

Every refusal is a ModelFileError (CLI exit 4) that names the file and says to retrain.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch

from .. import errors

#: Generous bounds far above anything training makes; they only stop absurd values early.
MAX_CATEGORIES = 1_000
MAX_HEADS = 64
MAX_FEATURE_DIM = 1 << 16
MAX_HIDDEN = 1 << 14
#: Stored gate examples per category (calibration compares each with all others: quadratic time).
MAX_GATE_EXAMPLES = 20_000
GATES = ("concept", "neighbour")
HEAD_PARTS = {"mean": 1, "scale": 1, "fc1.weight": 2, "fc1.bias": 1, "fc2.weight": 2, "fc2.bias": 1}


@dataclass(frozen=True)
class ModelLayout:
    """The checked facts a Classifier is built from."""

    categories: list[str]
    n_heads: int
    feature_dim: int
    hidden: int
    gate: str
    gate_quantile: float


def damaged(path: Path | None, what: str) -> errors.ModelFileError:
    return errors.ModelFileError(
        f"The model file is damaged or was edited: {what}. Retrain the model ('photosorter train').", path=path
    )


def check_document(doc: object, path: Path | None, newest_version: int, format_name: str) -> dict:
    """The JSON description: a dict whose fields have the right types and ranges."""
    if not isinstance(doc, dict):
        raise damaged(path, f"its description is a {type(doc).__name__}, not an object")
    if doc.get("format") != format_name:
        raise errors.ModelFileError("This safetensors file is not a photosorter model.", path=path)
    version = doc.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise damaged(path, f"format_version is {version!r}, not a positive whole number")
    if version > newest_version:
        raise errors.ModelFileError("This model was made by a newer photosorter. Update photosorter to use it.", path=path)
    for key in ("backbone", "weights_id"):
        if not isinstance(doc.get(key), str) or not doc[key]:
            raise damaged(path, f"{key} is {doc.get(key)!r}, not a name")
    from .backbones import BACKBONES

    if doc["backbone"] not in BACKBONES:
        raise damaged(path, f"it names the backbone {doc['backbone']!r}, which this photosorter does not have")
    _check_categories(doc.get("categories"), path)
    for key, top in (("n_heads", MAX_HEADS), ("feature_dim", MAX_FEATURE_DIM)):
        if not _is_int(doc.get(key)) or not 1 <= doc[key] <= top:
            raise damaged(path, f"{key} is {doc.get(key)!r}, not a whole number from 1 to {top}")
    if doc.get("gate") not in GATES:
        raise damaged(path, f"gate is {doc.get('gate')!r}, not one of {', '.join(GATES)}")
    q = doc.get("gate_quantile", 0.05)
    if not _is_number(q) or not 0.0 <= q <= 0.5:
        raise damaged(path, f"gate_quantile is {q!r}, not a number from 0 to 0.5")
    if "fine_tuned" in doc:  # issue 13 item 6 (ml/finetune.py)
        tuned = doc["fine_tuned"]
        if not isinstance(tuned, dict) or not isinstance(tuned.get("base_weights_id"), str) or not tuned["base_weights_id"]:
            raise damaged(path, f"fine_tuned is {tuned!r:.60}, not an object naming its base weights")
    if "people" in doc and not isinstance(doc["people"], dict):
        raise damaged(path, f"people is a {type(doc['people']).__name__}, not an object")
    for key in ("metrics", "info"):
        if not isinstance(doc.get(key, {}), dict):
            raise damaged(path, f"{key} is a {type(doc[key]).__name__}, not an object")
    return doc


def _check_categories(cats: object, path: Path | None) -> None:
    from ..names import validate_category_name

    if not isinstance(cats, list) or not cats:
        raise damaged(path, f"categories is {cats!r:.60}, not a list of names")
    if len(cats) > MAX_CATEGORIES:
        raise damaged(path, f"it lists {len(cats)} categories, more than {MAX_CATEGORIES}")
    normal = []
    for c in cats:
        if not isinstance(c, str):
            raise damaged(path, f"the category {c!r:.60} is not a name")
        try:
            normal.append(validate_category_name(c))
        except errors.CategoryNameError as exc:
            raise damaged(path, f"the category name {c!r:.60} is not usable ({exc.message})") from None
    if len({c.casefold() for c in normal}) != len(cats):
        raise damaged(path, "a category is listed twice")


def check_tensors(tensors: dict[str, torch.Tensor], doc: dict, path: Path | None,
                  gate_width: int | None = None) -> ModelLayout:
    """Names, dtypes, shapes and values of the tensors, against each other and the description.

    ``gate_width``: the number of ImageNet concepts of the backbone, for a concept gate."""
    cats: list[str] = doc["categories"]
    n_cat, n_heads = len(cats), doc["n_heads"]
    gate = doc["gate"]
    gate_key = "concepts" if gate == "concept" else "examples"
    expected = {f"head.{i}.{part}" for i in range(n_heads) for part in HEAD_PARTS} | {"thresholds"}
    expected |= {f"gate.{gate_key}.{c}" for c in range(n_cat)}
    # Face data of categories about people: checked by ml/person.People.from_contents.
    people = {k for k in tensors if k.startswith("people.")} if isinstance(doc.get("people"), dict) else set()
    # Fine-tuned layers of the backbone: checked against the backbone by ml/finetune.fine_tuned_embedder.
    top = {k for k in tensors if k.startswith("backbone_top.")} if isinstance(doc.get("fine_tuned"), dict) else set()
    if isinstance(doc.get("fine_tuned"), dict) and not top:
        raise damaged(path, "it says it was fine-tuned but holds no fine-tuned layers")
    missing, extra = sorted(expected - tensors.keys()), sorted(tensors.keys() - expected - people - top)
    if missing:
        raise damaged(path, f"the tensor {missing[0]} is missing (the description names {n_heads} heads, {n_cat} categories)")
    if extra:
        raise damaged(path, f"it holds an unexpected tensor {extra[0]}")
    for name, t in tensors.items():
        if name in people:
            continue
        want = torch.float16 if name.startswith("gate.") else torch.float32
        if t.dtype != want:
            raise damaged(path, f"the tensor {name} is {t.dtype}, not {want}")
        if not bool(torch.isfinite(t).all()):
            raise damaged(path, f"the tensor {name} holds values that are not finite numbers")
    fc1 = tensors["head.0.fc1.weight"]
    if fc1.dim() != 2:
        raise damaged(path, "the first layer of the head is not a matrix")
    hidden, dim = (int(s) for s in fc1.shape)
    if dim != doc["feature_dim"]:
        raise damaged(path, f"feature_dim says {doc['feature_dim']}, the head's weights have {dim}")
    if not 1 <= hidden <= MAX_HIDDEN:
        raise damaged(path, f"the head has {hidden} hidden units")
    shapes = {"mean": (dim,), "scale": (dim,), "fc1.weight": (hidden, dim), "fc1.bias": (hidden,),
              "fc2.weight": (n_cat, hidden), "fc2.bias": (n_cat,)}
    for i in range(n_heads):
        for part, shape in shapes.items():
            got = tuple(tensors[f"head.{i}.{part}"].shape)
            if got != shape:
                raise damaged(path, f"head.{i}.{part} has shape {got}, not {shape}")
    th = tensors["thresholds"]
    if tuple(th.shape) != (n_cat,):
        raise damaged(path, f"there are {th.numel()} thresholds for {n_cat} categories")
    if not bool(((th > 0) & (th < 1)).all()):
        raise damaged(path, f"a threshold is outside (0, 1): {[round(float(v), 4) for v in th]}")
    width = gate_width if gate == "concept" else dim
    for c in range(n_cat):
        g = tensors[f"gate.{gate_key}.{c}"]
        if g.dim() != 2 or (len(g) and width is not None and g.shape[1] != width):
            raise damaged(path, f"gate.{gate_key}.{c} has shape {tuple(g.shape)}, not (examples, {width})")
        if len(g) > MAX_GATE_EXAMPLES:
            raise damaged(path, f"gate.{gate_key}.{c} holds {len(g)} examples, more than {MAX_GATE_EXAMPLES}")
        if gate == "concept" and bool(((g < 0) | (g > 1)).any()):
            raise damaged(path, f"gate.{gate_key}.{c} holds concept probabilities outside [0, 1]")
    return ModelLayout(list(cats), n_heads, dim, hidden, gate, float(doc.get("gate_quantile", 0.05)))


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
