"""Headless command-line front end over the core.

Human-readable output by default, one JSON document with ``--json``. Progress goes to stderr
(only on a terminal), results to stdout. Exit codes: 0 ok, 1 internal error, 2 bad usage,
3 bad input (also: a sort whose every copy failed), 4 model/weights problem, 130 cancelled (Ctrl+C).
File names that are not valid UTF-8 are printed with their odd bytes escaped (backslash, x, hex).
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__, errors
from .reporting import TerminalProgress, counted
from .reporting import metrics_table as _metrics_table
from .reporting import print_json as _print_json

log = logging.getLogger("photosorter")


def _cache(args: argparse.Namespace):
    from .config import app_paths
    from .ml.features import FeatureCache

    return FeatureCache(None if args.no_cache else app_paths().feature_cache_file)


# --------------------------------------------------------------------------- commands


def cmd_train(args: argparse.Namespace) -> int:
    from .ml.features import Embedder
    from .ml.training import TrainOptions, train_from_folder

    embedder = Embedder(args.backbone, weights=args.weights, cache=_cache(args))
    opts = TrainOptions(views=args.views, gate_quantile=args.strictness)
    progress = TerminalProgress(None if not args.quiet else False)
    previous = None
    if not args.from_scratch and Path(args.model).is_file():
        from .ml.classifier import Classifier

        try:  # continue from the model being replaced when only the examples changed
            previous = Classifier.load(args.model, imagenet_head=embedder.model.imagenet_head)
        except errors.PhotosorterError:
            previous = None
    from .ml.background import StoredBackground

    background = StoredBackground.for_embedder(embedder).features()  # what it would do to your other photos
    if args.compare_backbones:  # issue 13 item 6: the best backbone on your examples (ml/compare.py)
        from .ml.backbones import BACKBONES
        from .ml.compare import compare_backbones
        from .ml.dataset import scan_labeled_folder

        names = [n.strip() for n in args.compare_backbones.split(",") if n.strip()]
        unknown = [n for n in names if n not in BACKBONES]
        if unknown:
            raise errors.UsageError(f"Unknown backbone(s) {', '.join(unknown)}. Choose from: {', '.join(BACKBONES)}.")
        won = compare_backbones(scan_labeled_folder(args.examples_dir), names, opts, cache=embedder.cache,
                                background_for=lambda e: StoredBackground.for_embedder(e).features(),
                                progress=progress, weights={args.backbone: args.weights} if args.weights else None)
        result, embedder = won.result, won.embedder
    else:
        result = train_from_folder(args.examples_dir, embedder, opts, progress=progress, previous=previous,
                                   background=background)
    if args.fine_tune:  # issue 13 item 6: kept only when cross-validated macro-F1 improves (ml/finetune.py)
        from .ml.dataset import scan_labeled_folder
        from .ml.finetune import fine_tune_stage

        result = fine_tune_stage(scan_labeled_folder(args.examples_dir), embedder, result, opts, progress=progress)
    clf = result.classifier
    desc = clf.description
    clf.save(args.model)
    if args.json:
        _print_json({
            "model": str(args.model), "backbone": clf.backbone, "categories": clf.categories,
            "thresholds": dict(zip(clf.categories, map(float, clf.thresholds))),
            "cross_validated_metrics": clf.metrics, "warnings": result.warnings,
            "skipped": [{"file": f, "reason": r} for f, r in result.skipped], "seconds": result.seconds,
            "continued_folds": desc.continued_folds,
            "background_negatives": desc.background_negatives,  # your photos learned from as "none of these"
            "quality_on_your_photos": [q.as_dict() for q in desc.quality or ()],
            "quality_summary": desc.quality_summary or "",
            **({"backbone_comparison": list(desc.backbone_comparison)} if desc.backbone_comparison else {}),
            **({"people": clf.people.describe()} if clf.people is not None else {}),  # issue 17
            **({"fine_tune": desc.fine_tune} if desc.fine_tune is not None else {}),
        })
        return 0
    continued = desc.continued_folds
    print(f"Trained {len(clf.categories)} categories on {desc.examples} photos with {clf.backbone} "
          f"in {result.seconds:.1f}s → {args.model}"
          + (f" (continued from the previous model in {continued} of {desc.folds} folds)" if continued else ""))
    for row in desc.backbone_comparison:
        print(f"  {row['backbone']}: " + (f"cross-validated macro-F1 {row['macro_f1']:.3f} in {row['seconds']:.1f}s"
                                          + (" (kept)" if row["kept"] else "") if "error" not in row
                                          else f"not compared: {row['error']}"))
    if desc.fine_tune is not None:
        print(f"  fine-tuning: {desc.fine_tune['reason']}")
    print(_metrics_table(clf.metrics, "Cross-validated on your examples (each scored by a head that never saw it):"))
    print(desc.quality_summary or "")
    for name, text in (clf.people.describe() if clf.people is not None else {}).items():  # issue 17
        print(f"  {name}: {text}")
    for q in desc.quality or ():
        if q.precision is not None:
            print(f"  {q.name}: would take {q.taken} of the {q.background_photos} photos seen so far; "
                  f"expected precision {q.precision:.2f} (likely {q.precision_low:.2f}–{q.precision_high:.2f})")
        for a in q.advice:
            print(f"  advice: {a}")
    for w in result.warnings:
        print(f"warning: {w}")
    for _file, reason in result.skipped:
        print(f"skipped: {reason}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .ml.scoring import Scorer

    scorer = Scorer.from_file(args.model, weights=args.weights, cache=_cache(args))
    metrics = scorer.evaluate_folder(args.test_dir, progress=TerminalProgress(None if not args.quiet else False), background=args.background)
    if args.json:
        _print_json(metrics)
        return 0
    bg = metrics["background_photos"]
    print(_metrics_table(metrics, f"Evaluation on {len(metrics['images'])} photos"
                         + (f" (familiarity measured against these {bg} photos):" if bg else ":")))
    for f in metrics["failed"]:
        print(f"skipped: {f['message']}")
    for warning in metrics.get("warnings", ()):  # e.g. links and unreadable entries in the folder
        print(f"note: {warning}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from .ml.scoring import PhotoFailure, Scorer

    scorer = Scorer.from_file(args.model, weights=args.weights, cache=_cache(args))
    out: list[dict[str, Any]] = []
    failed = 0
    run = scorer.score_paths(args.photos, progress=TerminalProgress(None if not args.quiet else False), background=args.background)
    for r in run:
        if isinstance(r, PhotoFailure):
            failed += 1
            out.append({"file": str(r.path), "error": r.reason, "message": r.message})
            if not args.json:
                print(f"{r.path}: cannot use this photo: {r.message.split(': ', 1)[-1]}", file=sys.stderr)
            continue
        out.append({"file": str(r.path), "categories": r.categories, "scores": r.scores})
        if not args.json:
            cats = ", ".join(r.categories) if r.categories else "(no category)"
            detail = "  ".join(f"{c} {s:.2f}" for c, s in r.scores.items())
            print(f"{r.path}: {cats}    [{detail}]")
    if args.json:
        _print_json({"thresholds": dict(zip(scorer.classifier.categories, map(float, scorer.classifier.thresholds))),
                     "background_photos": run.background_photos, "photos": out})
    return 3 if failed and failed == len(out) else 0


def cmd_explain(args: argparse.Namespace) -> int:
    from . import imaging, media
    from .ml.gradcam import explain, render
    from .ml.scoring import Scorer

    scorer = Scorer.from_file(args.model, weights=args.weights, cache=_cache(args))
    clf, emb = scorer.classifier, scorer.embedder
    if args.category and args.category not in clf.categories:
        raise errors.UsageError(f"No category '{args.category}' in this model. Categories: {', '.join(clf.categories)}.")
    wanted = [clf.categories.index(args.category)] if args.category else list(range(len(clf.categories)))
    if media.kind_of(args.photo) in ("videos", "raw") or args.photo.suffix.lower() in media.DOCUMENT_EXTENSIONS:
        return _explain_media(args, scorer)  # issue 18: each scored view (a video's keyframes) with its scores
    # Heat and scores come from exactly the view `predict` and `sort` score (same decode, same
    # preprocessing); the written images are a separate, larger decode of the same oriented photo.
    scored = imaging.load_image(args.photo, min_side=emb.spec.input_size).image
    # the decision and scores exactly as `predict`, `sort` and the preview pane make them
    # (same cached features, same stored background)
    r = scorer.readable_photo(args.photo, background=args.background)
    scores = np.array([r.scores[c] for c in clf.categories])
    decided = r.categories
    chosen = [c for c, name in enumerate(clf.categories) if name in decided]
    # the check is for decisions: the categories this photo goes to (or the one asked for)
    verify = wanted if args.category else chosen
    ex = explain(emb.model, clf.head, emb.spec, scored, wanted, method=args.method, layer=args.layer, verify=verify,
                 bf16=emb.bf16_active)
    maps = ex.maps
    view = imaging.load_image(args.photo, min_side=args.max_side).image.copy()
    view.thumbnail((args.max_side, args.max_side))
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.photo.stem
    files: dict[str, dict[str, str]] = {}
    view.save(args.out / f"{stem}_original.jpg", quality=92)
    for n, c in enumerate(wanted):
        name = clf.categories[c]
        rendered = render(view, maps[n], args.opacity)
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)
        paths = {"overlay": args.out / f"{stem}_{safe}_overlay.jpg", "heatmap": args.out / f"{stem}_{safe}_heatmap.png"}
        rendered.overlay.save(paths["overlay"], quality=92)
        rendered.heatmap.save(paths["heatmap"])
        files[name] = {k: str(v) for k, v in paths.items()}
    result = {
        "photo": str(args.photo),
        "scores": {c: float(s) for c, s in zip(clf.categories, scores)},
        "thresholds": {c: float(t) for c, t in zip(clf.categories, clf.thresholds)},
        "categories": decided,
        "layer": args.layer,
        "method": {clf.categories[c]: m for c, m in zip(wanted, ex.methods)},
        "faithfulness": {clf.categories[c]: f for c, f in zip(wanted, ex.faithfulness)},
        "flagged": [clf.categories[c] for c, bad in zip(wanted, ex.flagged) if bad],
        "grid": {clf.categories[c]: list(maps[n].shape) for n, c in enumerate(wanted)},
        "heatmap": {clf.categories[c]: np.round(maps[n], 4).tolist() for n, c in enumerate(wanted)},
        "original": str(args.out / f"{stem}_original.jpg"),
        "files": files,
    }
    if args.json:
        _print_json(result)
        return 0
    for name in clf.categories:
        mark = "✓" if name in result["categories"] else " "
        print(f" {mark} {name:<20} score {result['scores'][name]:.2f}  threshold {result['thresholds'][name]:.2f}")
    for name in result["flagged"]:
        print(f"note: {name}: Grad-CAM's heat was not where the score's evidence is (hiding it barely changed the "
              "score), so the overlay shows the occlusion map instead — look twice at this one.")
    print(f"Images written to {args.out}")
    return 0


def _explain_media(args: argparse.Namespace, scorer) -> int:
    from .ml.media_explain import explain_to_files

    result = explain_to_files(args.photo, scorer, args.out, category=args.category, side=args.max_side,
                              opacity=args.opacity, background=args.background)
    if args.json:
        _print_json(result)
        return 0
    for name, score in result["scores"].items():
        mark = "✓" if name in result["categories"] else " "
        print(f" {mark} {name:<20} score {score:.2f}  threshold {result['thresholds'][name]:.2f}")
    print(result["note"])
    for f in result["frames"]:
        when = "" if f["time"] is None else f"{int(f['time'] // 60)}:{f['time'] % 60:04.1f}  "
        print(f"  {when}" + "  ".join(f"{c} {s:.2f}" for c, s in f["scores"].items()))
    print(f"Images written to {args.out}")
    return 0


def _ledger():
    from .config import app_paths
    from .sorting.ledger import Ledger
    from .sorting.sorter import recover

    ledger = Ledger(app_paths().ledger_file)
    recover(ledger)  # finish or roll back whatever a crash interrupted, before anything else
    return ledger


def _per_category_lines(counts: dict[str, int], verb: str) -> list[str]:
    return [f"  {c}: {n} {verb}" for c, n in sorted(counts.items())]


def cmd_sort(args: argparse.Namespace) -> int:
    from .fsnames import shown
    from .ml.scoring import Scorer
    from .sorting.paths import category_folder
    from .sorting.sorter import apply_plan, plan_sort

    missing = [s for s in args.sources if not Path(s).exists() and not Path(s).is_symlink()]
    if missing:
        raise errors.InputError(f"{shown(missing[0])}: no such file or folder.")
    if (args.model is None) != (args.dest is None):
        raise errors.UsageError("Give both --model and --dest (each category goes to DEST/<category>), or neither "
                                "to sort as the app does: its model, its folders, its thresholds.")
    ledger = _ledger()
    progress = TerminalProgress(None if not args.quiet else False)
    if args.model is None:
        # The app's own set-up. A tryout renamed Food to Meals in the app (its copies stay in
        # Sorted/Food) and `sort --dest Sorted` planned 8 photos into a new Sorted/Meals: one
        # category split over two folders, and the app's "already sorted" disagreed.
        from .library import Library
        from .session import Session

        session = Session(Library.load())
        if not session.has_model:
            raise errors.UsageError("The app has no trained model yet: train in the app (or `photosorter train`), "
                                    "or give --model and --dest.")
        plan = session.plan([str(s) for s in args.sources], progress=progress, kinds=args.kinds,
                            background=args.background)
        destinations, model, root = plan.destinations, session.model_path, None
    else:
        scorer = Scorer.from_file(args.model, weights=args.weights, cache=_cache(args))
        root = args.dest.expanduser().resolve()
        destinations = {c: category_folder(root, c) for c in scorer.classifier.categories}
        plan = plan_sort(args.sources, scorer, ledger, destinations, progress=progress, background=args.background,
                         kinds=args.kinds)
        model = args.model
    if args.dry_run:
        rows: list[dict[str, Any]] = [{"file": str(d.path), "outcome": d.outcome, "categories": d.categories, "already_in": d.done_before,
                 "scores": d.scores, "reason": d.reason, "message": d.message,
                 "destinations": [str(destinations[c]) for c in d.categories]} for d in plan.decisions]
        counts = plan.counts()
        if args.json:
            _print_json({"dry_run": True, "thresholds": plan.thresholds, "background_photos": plan.background_photos,
                         "counts": dict(counts), "per_category": plan.per_category(), "photos": rows})
            return 0
        for r in rows:
            where = ", ".join(r["categories"]) if r["outcome"] == "copy" else r["outcome"].replace("_", " ")
            print(shown(f"{r['file']}  →  {where}" + (f"  ({r['message']})" if r["message"] else "")))
        print(f"Dry run: {counts['copy']} to copy, {counts['already_sorted']} already sorted, "
              f"{counts['no_category']} in no category, {counts['failed']} cannot be read. Nothing was written.")
        print("\n".join(_per_category_lines(plan.per_category(), "to copy")))
        return 0
    summary = apply_plan(plan, ledger, progress=progress,
                         detail={"sources": [shown(s) for s in args.sources], "model": str(model),
                                 "dest": str(root) if root is not None else "the app's category folders"})
    # Every copy failed: say so with the exit code too (3: the input or destination needs attention).
    status = 3 if summary.failed and not summary.copies_made and any(d.outcome == "copy" for d in plan.decisions) else 0
    if args.json:
        _print_json(summary.as_dict())
        return status
    print(f"Run {summary.run_id}: copied {counted(summary.copied_photos, 'photo')} "
          f"({counted(summary.copies_made, 'copy', 'copies')}), "
          f"{summary.already_sorted} already sorted, {summary.no_category} in no category, {len(summary.failed)} failed.")
    print("\n".join(_per_category_lines(summary.per_category, "copied")))
    for path, stored in summary.renamed:
        print(shown(f"  stored as {Path(stored).name} (the destination could not hold the name {Path(path).name!r})"))
    for path, message in summary.notes:
        print(shown(f"  note: {path}: {message}"))
    for _path, reason, message in summary.failed:
        print(shown(f"  failed ({reason}): {message}"))
    if summary.copies_made:
        print(f"Undo with: photosorter undo {summary.run_id}")
    return status


def cmd_watch(args: argparse.Namespace) -> int:
    import signal
    import threading

    from .config import app_paths
    from .ml.scoring import Scorer
    from .sorting.paths import category_folder
    from .sorting.service import WatchService

    _ledger().close()
    scorer = Scorer.from_file(args.model, weights=args.weights, cache=_cache(args))
    root = args.dest.expanduser().resolve()
    destinations = {c: category_folder(root, c) for c in scorer.classifier.categories}
    stop = threading.Event()

    from .fsnames import shown

    def batch(summary) -> None:
        print(f"Run {summary.run_id}: copied {summary.copied_photos} photos, {summary.already_sorted} already sorted, "
              f"{summary.no_category} in no category, {len(summary.failed)} failed.", flush=True)
        print("\n".join(_per_category_lines(summary.per_category, "copied")), flush=True)
        for path, message in summary.notes:
            print(shown(f"  note: {path}: {message}"), flush=True)
        for _p, reason, message in summary.failed:
            print(shown(f"  failed ({reason}): {message}"), flush=True)

    service = WatchService([args.source], scorer, app_paths().ledger_file, destinations, on_batch=batch,
                           on_warning=lambda m: print(f"warning: {m}", file=sys.stderr, flush=True),
                           stable_seconds=args.stable_seconds, rescan_seconds=args.rescan_seconds,
                           force_polling=args.poll, kinds=args.kinds)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    service.start()
    print(f"Watching {args.source} (Ctrl+C to stop)...", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        service.stop()
    return 0


def cmd_undo(args: argparse.Namespace) -> int:
    from .sorting.sorter import undo_run

    result = undo_run(_ledger(), args.run_id)
    code = 0 if not result.errors else 3  # some copies could not be undone: a script must notice
    if args.json:
        _print_json(result.as_dict())
        return code
    from .fsnames import shown

    print(f"Run {result.run_id}: {len(result.trashed)} copies moved to the trash.")
    for f in result.kept_modified:
        print(shown(f"  kept (changed since we copied it): {f}"))
    for f in result.already_gone:
        print(shown(f"  already removed: {f}"))
    for f, m in result.errors:
        print(shown(f"  not undone: {f}: {m}"))
    return code


def cmd_runs(args: argparse.Namespace) -> int:
    import datetime

    from .fsnames import shown
    from .sorting.ledger import removed_since

    runs = _ledger().runs()
    if args.json:
        _print_json([{"id": r.id, "kind": r.kind, "started": r.started, "finished": r.finished, "state": r.state,
                      "dry_run": r.dry_run, "trashed_since": r.trashed, **r.detail} for r in runs])
        return 0
    if not runs:
        print("No runs yet.")
    for r in runs:
        when = datetime.datetime.fromtimestamp(r.started).strftime("%Y-%m-%d %H:%M")
        s = r.detail.get("summary", {})
        since = f" ({removed_since(r.trashed)})" if r.trashed and r.state != "undone" else ""
        print(f"{r.id:>4}  {when}  {r.kind:<5} {r.state:<11} copied {s.get('copied_photos', 0):>5}  "
              f"failed {len(s.get('failed', [])):>3}  {shown(', '.join(r.detail.get('sources', [])))}{since}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Until the desktop window exists: train and evaluate on real or generated photos."""
    from .demo import run_demo

    return run_demo(quiet=args.quiet)


# --------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    from .ml.backbones import BACKBONES, DEFAULT_BACKBONE
    from .ml.openset import DEFAULT_QUANTILE

    p = argparse.ArgumentParser(prog="photosorter", description="Learn your photo categories from examples and sort photos into them.")
    p.add_argument("--version", action="version", version=f"photosorter {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--json", action="store_true", help="print one JSON document for scripts")
        sp.add_argument("--weights", type=Path, help="local backbone weights file (e.g. ResNet50 .pth), no download")
        sp.add_argument("--no-cache", action="store_true", help="do not read or write the feature cache")
        sp.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    def background_option(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--background", choices=["auto", "off"], default="auto",
                        help="auto: judge 'belongs to no category' against the stored picture of your photos in general "
                             "(every photo sorted or watched so far, bounded; `sort` adds the photos it reads first), "
                             "so a photo gets the same decision from predict, explain, sort and the app; "
                             "off: against ImageNet's flat prior (default auto)")

    def kinds_option(sp: argparse.ArgumentParser) -> None:
        def parse(text: str) -> frozenset[str]:
            from .errors import UsageError
            from .media import parse_kinds

            try:
                return parse_kinds(text)
            except UsageError as exc:
                raise argparse.ArgumentTypeError(str(exc)) from None

        sp.add_argument("--kinds", type=parse, default=None, metavar="KINDS",
                        help="which kinds of file to sort, comma-separated: stills (JPEG, HEIC, PNG, ..., PDF), "
                             "videos, raw (DNG, CR2/CR3, NEF, ARW, RAF, ORF, RW2); default all")

    t = sub.add_parser("train", help="learn categories from a folder of example sub-folders")
    t.add_argument("examples_dir", type=Path, metavar="EXAMPLES_DIR", help="one sub-folder per category; _none/ for photos in no category")
    t.add_argument("--model", type=Path, required=True, help="where to save the model (.safetensors)")
    t.add_argument("--backbone", choices=list(BACKBONES), default=DEFAULT_BACKBONE)
    t.add_argument("--from-scratch", action="store_true",
                   help="ignore the existing --model file (by default training continues from it when only examples changed)")
    t.add_argument("--compare-backbones", metavar="NAMES", default=None,
                   help="comma-separated backbones to train on; keeps the one with the best cross-validated "
                        "macro-F1 on your examples (e.g. efficientnet_lite0,efficientnet_lite2); --backbone is then ignored")
    t.add_argument("--fine-tune", action="store_true",
                   help="also fine-tune the top of the backbone (slower); the fine-tuned model is kept only when "
                        "its cross-validated macro-F1 beats the frozen one's")
    t.add_argument("--views", type=int, default=4, help="feature views per example: 1 clean + N-1 augmented (default 4)")
    t.add_argument("--strictness", type=float, default=DEFAULT_QUANTILE,
                   help="share of genuine examples allowed to look 'unfamiliar' (0-0.5; higher keeps more unrelated photos out; default %(default)s)")
    common(t)
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("evaluate", help="measure a model on a labelled folder")
    e.add_argument("test_dir", type=Path, metavar="TEST_DIR")
    e.add_argument("--model", type=Path, required=True)
    background_option(e)
    common(e)
    e.set_defaults(func=cmd_evaluate)

    pr = sub.add_parser("predict", help="score photos against a model")
    pr.add_argument("photos", type=Path, nargs="+", metavar="PHOTO")
    pr.add_argument("--model", type=Path, required=True)
    background_option(pr)
    common(pr)
    pr.set_defaults(func=cmd_predict)

    x = sub.add_parser("explain", help="Grad-CAM: show where each category's evidence lies in a photo")
    x.add_argument("photo", type=Path, metavar="PHOTO")
    x.add_argument("--model", type=Path, required=True)
    x.add_argument("--category", help="only this category (default: all)")
    x.add_argument("--out", type=Path, required=True, help="folder for original, overlay and heatmap images")
    x.add_argument("--layer", choices=["last", "fine"], default="last", help="the backbone's last conv block (default; 10x10 for efficientnet_lite0, 7x7 for resnet50) or one stage earlier (2x finer, measured less precise)")
    x.add_argument("--method", choices=["checked", "augmented", "gradcam", "occlusion"], default="checked",
                   help="checked (default): augmented Grad-CAM verified by occlusion, replaced and flagged where its heat "
                        "is not where the evidence is; augmented: Grad-CAM averaged over the view's 8 rotations and "
                        "mirror images, unverified; gradcam: one view, fastest, unverified; occlusion: always the 5x5 "
                        "occlusion map")
    x.add_argument("--opacity", type=float, default=0.5, help="heatmap opacity in the overlay (0-1)")
    x.add_argument("--max-side", type=int, default=1024, help="longest side of the written images")
    background_option(x)
    common(x)
    x.set_defaults(func=cmd_explain)

    so = sub.add_parser("sort", help="copy photos into every category they belong to (originals untouched)")
    so.add_argument("sources", type=Path, nargs="+", metavar="SOURCE", help="photo files or folders (searched recursively)")
    so.add_argument("--model", type=Path, help="a model file from `photosorter train` (with --dest; without both: "
                                               "the app's model, folders and thresholds)")
    so.add_argument("--dest", type=Path, metavar="ROOT", help="each category goes to ROOT/<category> (with --model)")
    so.add_argument("--dry-run", action="store_true", help="show what would happen; write nothing")
    kinds_option(so)
    background_option(so)
    common(so)
    so.set_defaults(func=cmd_sort)

    w = sub.add_parser("watch", help="keep sorting new photos that appear in a folder (e.g. DCIM)")
    w.add_argument("source", type=Path, metavar="SOURCE")
    w.add_argument("--model", type=Path, required=True)
    w.add_argument("--dest", type=Path, required=True, metavar="ROOT")
    w.add_argument("--stable-seconds", type=float, default=2.0, help="a file must stay unchanged this long (default 2)")
    w.add_argument("--rescan-seconds", type=float, default=60.0, help="full rescan interval (default 60)")
    w.add_argument("--poll", action="store_true", help="poll instead of using native file events")
    kinds_option(w)
    common(w)
    w.set_defaults(func=cmd_watch)

    u = sub.add_parser("undo", help="move the copies a run made to the trash (the last run by default)")
    u.add_argument("run_id", type=int, nargs="?", metavar="RUN_ID")
    u.add_argument("--json", action="store_true")
    u.set_defaults(func=cmd_undo)

    rn = sub.add_parser("runs", help="list sort runs")
    rn.add_argument("--json", action="store_true")
    rn.set_defaults(func=cmd_runs)

    d = sub.add_parser("demo", help="train and evaluate on sample photos (real ones if present, else generated)")
    d.add_argument("-q", "--quiet", action="store_true")
    d.set_defaults(func=cmd_demo)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    if getattr(args, "strictness", 0.05) is not None and not 0.0 <= getattr(args, "strictness", 0.05) <= 0.5:
        print("photosorter: error: --strictness must be between 0 and 0.5", file=sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except errors.PhotosorterError as exc:
        from .fsnames import shown

        print(f"photosorter: error: {shown(exc)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("\nphotosorter: cancelled", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. piped into `head`: the reader left, not an error of ours
        sys.stderr.close()
        return 0
    except Exception:  # a bug: say so plainly, keep the details for the report
        print("photosorter: internal error (this is a bug; please report it with the details below)", file=sys.stderr)
        traceback.print_exc()
        return 1
