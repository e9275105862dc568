"""Model files whose checksum was recomputed after an edit: refused with exit 4, or a valid model.

The checksum only proves a file is intact; anyone can edit a value and recompute it. Every field
and tensor must therefore be checked before use (photosorter.ml.model_check).
"""

from __future__ import annotations

import json
import random
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import jpeg_bytes
from safetensors import safe_open
from safetensors.torch import save_file
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from photosorter import errors
from photosorter.cli import main
from photosorter.ml.classifier import Classifier, _checksum, read_model_file

OLD_MODEL = Path(__file__).parent / "data" / "model_format1_tiny.safetensors"  # written by c66333f's code


def read(path: Path) -> tuple[dict[str, torch.Tensor], object]:
    with safe_open(str(path), framework="pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, json.loads(f.metadata()["photosorter"])  # noqa: SIM118 (safe_open is not iterable)


def write(path: Path, tensors: dict[str, torch.Tensor], doc: object) -> Path:
    """Save as an attacker would: edited contents, checksum recomputed to match."""
    text = json.dumps(doc)
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path),
              metadata={"photosorter": text, "checksum": _checksum(tensors, text)})
    return path


def edited(tmp_path: Path, doc_edit=None, tensor_edit=None, name="edited.safetensors") -> Path:
    tensors, doc = read(OLD_MODEL)
    if doc_edit is not None:
        doc = doc_edit(doc)
    if tensor_edit is not None:
        tensor_edit(tensors)
    return write(tmp_path / name, tensors, doc)


def _set(key, value):
    def edit(doc):
        doc[key] = value
        return doc
    return edit


def _threshold(value):
    def edit(t):
        t["thresholds"] = torch.tensor([value, 0.5], dtype=torch.float32)
    return edit


# The edits issue 14 found accepted (or crashing with "this is a bug"), and their relatives.
ISSUE_CASES = {
    "threshold -1 copies everything": dict(tensor_edit=_threshold(-1.0)),
    "threshold NaN copies nothing": dict(tensor_edit=_threshold(float("nan"))),
    "threshold 5 copies nothing": dict(tensor_edit=_threshold(5.0)),
    "threshold exactly 0": dict(tensor_edit=_threshold(0.0)),
    "feature_dim 4,000,000": dict(doc_edit=_set("feature_dim", 4_000_000)),
    "categories as a string": dict(doc_edit=_set("categories", "ab")),
    "categories twice the same": dict(doc_edit=_set("categories", ["a", "a"])),
    "an empty category name": dict(doc_edit=_set("categories", ["", "b"])),
    "a category that is a path": dict(doc_edit=_set("categories", ["../../etc", "b"])),
    "format_version as a word": dict(doc_edit=_set("format_version", "one")),
    "a list as the header": dict(doc_edit=lambda d: [d]),
    "n_heads 0": dict(doc_edit=_set("n_heads", 0)),
    "n_heads -1": dict(doc_edit=_set("n_heads", -1)),
    "n_heads a billion": dict(doc_edit=_set("n_heads", 10**9)),
    "gate_quantile NaN": dict(doc_edit=_set("gate_quantile", float("nan"))),
    "an unknown gate": dict(doc_edit=_set("gate", "magic")),
    "an unknown backbone": dict(doc_edit=_set("backbone", "resnet9000")),
    "a NaN weight": dict(tensor_edit=lambda t: t["head.0.fc1.weight"].view(-1).__setitem__(7, float("nan"))),
    "a weight of the wrong dtype": dict(tensor_edit=lambda t: t.__setitem__("head.1.fc2.bias", t["head.1.fc2.bias"].double())),
    "a head tensor cut short": dict(tensor_edit=lambda t: t.__setitem__("head.0.fc1.bias", t["head.0.fc1.bias"][:-1].clone())),
    "a tensor too many": dict(tensor_edit=lambda t: t.__setitem__("payload", torch.zeros(4))),
}


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("photo") / "a.jpg"
    p.write_bytes(jpeg_bytes((64, 48), seed=3))
    return p


def test_a_model_from_before_this_round_still_loads_and_predicts(photo, capsys):
    clf = Classifier.load(OLD_MODEL)
    assert clf.categories == ["blue_square", "red_disc"] and clf.backbone == "tiny"
    assert main(["predict", str(photo), "--model", str(OLD_MODEL), "--json", "-q", "--no-cache"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["photos"][0]["scores"]) == {"blue_square", "red_disc"}


@pytest.mark.parametrize("case", list(ISSUE_CASES))
def test_edited_model_is_refused_with_exit_4_and_names_the_file(case, tmp_path, photo, capsys):
    path = edited(tmp_path, **ISSUE_CASES[case])
    with pytest.raises(errors.ModelFileError, match=r"damaged or was edited|not a photosorter model"):
        Classifier.load(path)
    code = main(["predict", str(photo), "--model", str(path), "-q", "--no-cache"])
    err = capsys.readouterr().err
    assert code == 4, err
    assert str(path) in err and "retrain" in err.lower() and "internal error" not in err


# ------------------------------------------------------------------------------------- fuzzing

WEIRD_VALUES = [None, True, 0, -1, 1, 2, 3, 7, 400_000, 10**12, -0.5, 0.5, 1.5, float("nan"), float("inf"), "",
                "ab", "one", "tiny", [], ["a"], ["a", "a"], ["a", "b", "c"], [1, 2], {}, {"a": 1}]


def _mutate_doc(doc: dict, rng: random.Random) -> object:
    roll = rng.random()
    if roll < 0.05:
        return rng.choice([[], "photosorter-model", 1, None, [doc]])
    key = rng.choice(sorted(doc))
    if roll < 0.15:
        del doc[key]
    else:
        doc[key] = rng.choice(WEIRD_VALUES)
    return doc


def _mutate_tensors(t: dict[str, torch.Tensor], rng: random.Random) -> None:
    name = rng.choice(sorted(t))
    x = t[name]
    roll = rng.random()
    if roll < 0.45 and x.numel():  # one value replaced
        flat = x.view(-1)
        flat[rng.randrange(flat.numel())] = rng.choice([float("nan"), float("inf"), -1.0, 0.0, 1.0, 5.0, 1e30,
                                                        rng.uniform(-3, 3)])
    elif roll < 0.6:  # random bytes
        raw = x.contiguous().view(torch.uint8).view(-1)
        for _ in range(rng.randint(1, 8)):
            if raw.numel():
                raw[rng.randrange(raw.numel())] = rng.randrange(256)
    elif roll < 0.7:
        t[name] = x.to(rng.choice([torch.float64, torch.float16, torch.int32, torch.bfloat16]))
    elif roll < 0.8:
        t[name] = x.reshape(-1)[: max(0, x.numel() - rng.randint(1, 4))].clone() if rng.random() < 0.5 else x.reshape(-1).clone()
    elif roll < 0.87:
        del t[name]
    elif roll < 0.93:
        other = rng.choice(sorted(t))
        t[name], t[other] = t[other], t[name]
    else:
        t[f"gate.examples.{rng.randint(2, 9)}"] = torch.zeros(3, 64, dtype=torch.float16)


class AllocationMeter(TorchDispatchMode):
    """Bytes the loader allocates beyond the file's own tensors.

    Reading (``read_model_file``): safetensors checks every tensor's extent against the file before
    copying it, so the tensors read total at most the file's size; the reading is not counted in
    torch bytes (tracing safetensors' byte-wise storage copies would take minutes). Everything
    built from the tensors or from numbers in the header (``from_contents``) is counted: every ATen
    operation passes through this dispatch mode, and each result tensor whose storage is not one of
    its inputs' is a new allocation (summed: an upper bound of the peak) — nn.Linear's parameters
    included, the allocation a huge feature_dim used to blow up. numpy buffers and Python objects
    of both phases are counted by tracemalloc's peak (numpy reports its buffers to it)."""

    def __init__(self) -> None:
        super().__init__()
        self.torch_bytes = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        inputs = {t.untyped_storage().data_ptr() for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)}
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor) and t.untyped_storage().data_ptr() not in inputs:
                self.torch_bytes += t.untyped_storage().nbytes()
        return out

    @classmethod
    def load(cls, path: Path) -> tuple[object, int]:
        """(Classifier or its ModelFileError, bytes allocated); tracemalloc must be running."""
        meter = cls()
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        try:
            tensors, doc = read_model_file(path)
            with meter:
                result = Classifier.from_contents(tensors, doc, path)
        except errors.ModelFileError as exc:
            result = exc
        _, peak = tracemalloc.get_traced_memory()
        return result, meter.torch_bytes + peak - before


def test_fuzzed_model_files_are_refused_or_valid_and_allocate_little(tmp_path):
    """Seeded random edits with the checksum recomputed: each variant is refused with a
    ModelFileError or loads as a model that behaves like a valid one (finite scores in [0, 1],
    thresholds in (0, 1), distinct usable category names); no variant makes the loader allocate
    more than a few times the file's own size on top of reading it."""
    base_tensors, base_doc = read(OLD_MODEL)
    feats = np.random.default_rng(0).normal(size=(5, 64)).astype(np.float32)
    tracemalloc.start()
    AllocationMeter.load(OLD_MODEL)  # lazy imports done before measuring
    rng = random.Random(1414)
    refused = accepted = 0
    worst = 0.0
    for i in range(200):
        tensors = {k: v.clone() for k, v in base_tensors.items()}
        doc = json.loads(json.dumps(base_doc))
        for _ in range(rng.randint(1, 3)):
            if rng.random() < 0.5 and isinstance(doc, dict):
                doc = _mutate_doc(doc, rng)
            else:
                _mutate_tensors(tensors, rng)
        path = write(tmp_path / f"v{i}.safetensors", tensors, doc)
        result, allocated = AllocationMeter.load(path)
        ratio = allocated / path.stat().st_size
        worst = max(worst, ratio)
        assert ratio <= 8, f"variant {i} allocated {allocated} bytes, {ratio:.1f}x its file"
        if isinstance(result, errors.ModelFileError):
            refused += 1
            assert str(path) in str(result)
        else:
            accepted += 1
            clf: Classifier = result
            assert all(isinstance(c, str) and c for c in clf.categories)
            assert len(set(clf.categories)) == len(clf.categories) == len(clf.thresholds)
            assert np.all((clf.thresholds > 0) & (clf.thresholds < 1))
            scores = clf.scores(feats)
            assert scores.shape == (5, len(clf.categories)) and np.all(np.isfinite(scores))
            assert np.all((scores >= 0) & (scores <= 1))
            clf.decide(scores)
        path.unlink()
    tracemalloc.stop()
    assert refused > 100 and accepted > 20, (refused, accepted)  # the edits exercised both ways
    print(f"fuzz: {refused} refused, {accepted} valid, worst allocation {worst:.1f}x the file size")
