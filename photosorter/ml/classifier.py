"""The trained bundle and its file format.

A model file is data, never code: one ``.safetensors`` file whose tensors are the head weights
and gate statistics, and whose header metadata holds a JSON document (backbone, weights id,
categories, thresholds, metrics, versions) plus a SHA-256 over both. Loading never unpickles;
a damaged, tampered or foreign file is refused with a ModelFileError.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from .. import __version__, errors
from .head import Head, HeadEnsemble
from .model_check import check_document, check_tensors
from .model_description import ModelDescription
from .openset import ConceptGate, Gate, NeighbourGate
from .person import People

if TYPE_CHECKING:
    from .faces import FaceResult

FORMAT = "photosorter-model"
FORMAT_VERSION = 1


@dataclass
class Classifier:
    backbone: str
    weights_id: str
    categories: list[str]
    thresholds: np.ndarray  # (C,)
    head: HeadEnsemble
    gate: Gate
    metrics: dict = field(default_factory=dict)
    description: ModelDescription = field(default_factory=ModelDescription)  # training summary
    people: People | None = None  # faces as evidence for categories about people (ml/person.py)
    #: issue 13 item 6: a fine-tuned model's top of the backbone (ml/finetune.py) and the weights it was tuned from
    backbone_top: dict[str, torch.Tensor] | None = None
    base_weights_id: str | None = None

    # ----------------------------------------------------------------- scoring
    @torch.inference_mode()
    def head_probabilities(self, feats: np.ndarray) -> np.ndarray:
        self.head.eval()
        return torch.sigmoid(self.head(torch.as_tensor(feats, dtype=torch.float32))).numpy()

    def scores(self, feats: np.ndarray, faces: list[FaceResult] | None = None) -> np.ndarray:
        """Final per-category scores in [0, 1]: head probability × familiarity gate.

        A photo goes into category c when scores[:, c] >= thresholds[c]. ``faces`` (one
        FaceResult per photo) is needed only when ``people`` is set.
        """
        return self.scores_with_head(feats, faces)[0]

    def scores_with_head(self, feats: np.ndarray, faces: list[FaceResult] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(final scores, the head's probabilities they came from): the review's "check first" needs
        both, and the head runs once."""
        feats = np.atleast_2d(feats)
        gate = self.gate.gate(feats)
        if self.people is not None:  # issue 17: face evidence for the categories about people
            gate = self.people.adjust_gate(gate, faces)
        head = self.head_probabilities(feats)
        return head * gate, head

    def with_background(self, feats: np.ndarray | None) -> Classifier:
        """The same classifier, its familiarity gate measured against these photos as "photos in
        general" (e.g. the whole folder being sorted). None restores the default background."""
        return dataclasses.replace(self, gate=self.gate.with_background(feats))

    @property
    def background_photos(self) -> int:
        return int(getattr(self.gate, "background_photos", 0))

    def decide(self, scores: np.ndarray, thresholds: np.ndarray | None = None) -> list[list[str]]:
        th = self.thresholds if thresholds is None else np.asarray(thresholds)
        return [[c for c, s, t in zip(self.categories, row, th) if s >= t] for row in np.atleast_2d(scores)]

    # ----------------------------------------------------------------- saving
    def _tensors(self) -> dict[str, torch.Tensor]:
        t: dict[str, torch.Tensor] = {}
        for i, h in enumerate(self.head.heads):
            for k, v in h.state_dict().items():
                t[f"head.{i}.{k}"] = v.detach().contiguous().clone()
        t["thresholds"] = torch.as_tensor(self.thresholds, dtype=torch.float32)
        if self.people is not None:  # issue 17
            t.update(self.people.tensors())
        for k, v in (self.backbone_top or {}).items():  # issue 13 item 6: fine-tuned layers
            t[f"backbone_top.{k}"] = v.detach().float().contiguous().clone()
        for c in range(len(self.categories)):
            if isinstance(self.gate, ConceptGate):
                t[f"gate.concepts.{c}"] = torch.as_tensor(self.gate.example_concepts[c], dtype=torch.float16)
            elif isinstance(self.gate, NeighbourGate):
                t[f"gate.examples.{c}"] = torch.as_tensor(self.gate.examples[c], dtype=torch.float16)
        return t

    def _document(self) -> dict:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "backbone": self.backbone,
            "weights_id": self.weights_id,
            "categories": list(self.categories),
            "n_heads": len(self.head.heads),
            "feature_dim": self.head.heads[0].fc1.in_features,  # type: ignore[union-attr]  # nn.Linear
            "gate": self.gate.kind,
            "gate_quantile": self.gate.quantile,
            "metrics": self.metrics,
            "info": self.description.to_document(),
            **({"people": self.people.document()} if self.people is not None else {}),  # issue 17
            **({"fine_tuned": {"base_weights_id": self.base_weights_id}} if self.backbone_top is not None else {}),
            "app_version": __version__,
            "torch_version": torch.__version__,
            "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }

    def save(self, path: str | Path) -> Path:
        """Write atomically: a temp file in the same folder, fsync, then rename over the target."""
        from safetensors.torch import save_file

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tensors = self._tensors()
        doc = json.dumps(self._document(), sort_keys=True, default=_json_default)
        meta = {"photosorter": doc, "checksum": _checksum(tensors, doc)}
        fd, tmp = tempfile.mkstemp(prefix=".pending-", suffix=".safetensors", dir=path.parent)
        os.close(fd)
        try:
            save_file(tensors, tmp, metadata=meta)
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    @classmethod
    def load(cls, path: str | Path, imagenet_head: torch.nn.Module | None = None) -> Classifier:
        """Load and verify a model file. ``imagenet_head`` comes from the backbone (concept gate)."""
        path = Path(path)
        tensors, doc = read_model_file(path)
        return cls.from_contents(tensors, doc, path, imagenet_head)

    @classmethod
    def from_contents(cls, tensors: dict[str, torch.Tensor], doc: dict, path: Path,
                      imagenet_head: torch.nn.Module | None = None) -> Classifier:
        """Build from an already read and verified model file (see read_model_file). Every field
        and tensor is checked first (model_check), so nothing is built from an unchecked number."""
        doc = check_document(doc, path, FORMAT_VERSION, FORMAT)
        if doc["gate"] == "concept" and imagenet_head is None:
            raise errors.ModelFileError("This model needs its backbone's ImageNet head to load.", path=path)
        width = None if imagenet_head is None else int(imagenet_head.weight.shape[0])  # type: ignore[index]  # nn.Linear
        layout = check_tensors(tensors, doc, path, width)
        categories = list(layout.categories)
        n_cat = len(categories)
        try:
            heads = []
            for i in range(layout.n_heads):
                state = {k[len(f"head.{i}.") :]: v for k, v in tensors.items() if k.startswith(f"head.{i}.")}
                h = Head(layout.feature_dim, n_cat, hidden=layout.hidden)
                h.load_state_dict(state)
                heads.append(h)
            gate: Gate
            if layout.gate == "concept":
                assert imagenet_head is not None  # checked above
                concept = ConceptGate(
                    n_cat, imagenet_head.weight.detach().numpy(), imagenet_head.bias.detach().numpy(),  # type: ignore[operator]
                    layout.gate_quantile,
                )
                for c in range(n_cat):
                    concept.set_example_concepts(c, tensors[f"gate.concepts.{c}"].double().numpy())
                gate = concept
            else:
                gate = NeighbourGate(n_cat, layout.gate_quantile)
                gate.examples = [tensors[f"gate.examples.{c}"].float().numpy() for c in range(n_cat)]
            gate.calibrate()
            thresholds = tensors["thresholds"].double().numpy().copy()
            people = People.from_contents(tensors, doc.get("people"), categories)  # issue 17; validates
        except errors.ModelFileError as exc:
            if exc.path is None:
                exc.path = path
            raise
        except (KeyError, ValueError, TypeError, RuntimeError) as exc:
            raise errors.ModelFileError(
                f"The model file is incomplete or inconsistent ({type(exc).__name__}: {exc}). Retrain the model.",
                path=path,
            ) from None
        model = HeadEnsemble(heads).eval()
        tuned = doc.get("fine_tuned")  # issue 13 item 6; checked by check_document / check_tensors
        top = {k[len("backbone_top."):]: v for k, v in tensors.items() if k.startswith("backbone_top.")} if tuned else None
        return cls(doc["backbone"], doc["weights_id"], categories, thresholds, model, gate, doc.get("metrics", {}),
                   ModelDescription.from_document(doc.get("info")), people, top,
                   tuned["base_weights_id"] if tuned else None)


def read_model_file(path: Path) -> tuple[dict[str, torch.Tensor], dict]:
    """Parse and verify; every failure becomes a ModelFileError that says what to do."""
    from safetensors import safe_open

    if not path.is_file():
        raise errors.ModelFileError("No model file here. Train one first with 'photosorter train'.", path=path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
        if len(head) < 8 or int.from_bytes(head, "little") > 100_000_000:
            raise ValueError("not a safetensors header")
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open is not iterable)
    except Exception as exc:
        raise errors.ModelFileError(
            "This is not a photosorter model file (it may be damaged, or a different kind of file). "
            f"photosorter never runs code from model files. Details: {type(exc).__name__}: {exc}",
            path=path,
        ) from None
    doc_text = meta.get("photosorter")
    if doc_text is None:
        raise errors.ModelFileError("This safetensors file is not a photosorter model.", path=path)
    if meta.get("checksum") != _checksum(tensors, doc_text):
        raise errors.ModelFileError(
            "The model file's checksum does not match its contents: it was modified or damaged. Retrain the model.",
            path=path,
        )
    try:
        doc = json.loads(doc_text)
    except (json.JSONDecodeError, RecursionError):
        raise errors.ModelFileError("The model description is not valid JSON.", path=path) from None
    return tensors, check_document(doc, path, FORMAT_VERSION, FORMAT)


def _checksum(tensors: dict[str, torch.Tensor], doc: str) -> str:
    h = hashlib.sha256(doc.encode())
    for k in sorted(tensors):
        h.update(k.encode())
        h.update(str(tuple(tensors[k].shape)).encode())
        h.update(str(tensors[k].dtype).encode())
        h.update(tensors[k].contiguous().reshape(-1).view(torch.uint8).numpy().tobytes() if tensors[k].numel() else b"")
    return h.hexdigest()


def _json_default(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o)}")
