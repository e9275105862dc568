"""Preview pane: a photo, its scores against the thresholds, and Grad-CAM overlays.

A video shows a strip of its sampled frames under the picture, each with its time and best
score; clicking one shows that frame's scores and heatmaps (the caption keeps the video's
combined decision)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QBoxLayout,
    QCheckBox,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..sorting.review_table import unlike_examples_mask
from .categories import pil_to_qimage
from .review import unlike_reason
from .widgets import ScoreBars, score_digits, wheel_only_when_focused

PREVIEW_SIDE = 720
#: What the grid's keys do with a "check first" photo (a tryout could not tell what N meant next
#: to a "Not nature" button about another category)
SAY_WHERE = "Say where it belongs — 1–9: that category, N: none of these — and it becomes an example."
PANE_MIN_WIDTH = 220  # at 200% the screen is 800 px wide: categories, tabs and this pane must share it


def draw_face_boxes(img, boxes: dict[str, tuple[float, float, float, float]]):
    """A copy of ``img`` with a labelled box on each face a person category's decision rests on."""
    if not boxes:
        return img
    from PIL import ImageDraw

    img = img.copy()
    draw = ImageDraw.Draw(img)
    w, h = img.size
    width = max(2, round(min(w, h) / 150))
    for name, (x0, y0, x1, y1) in boxes.items():
        rect = (x0 * w, y0 * h, x1 * w, y1 * h)
        draw.rectangle(rect, outline=(255, 214, 10), width=width)
        label = f"{name}: this face"
        tw = draw.textlength(label)
        ty = rect[1] - 14 if rect[1] >= 14 else rect[3] + 2
        draw.rectangle((rect[0], ty, rect[0] + tw + 6, ty + 13), fill=(255, 214, 10))
        draw.text((rect[0] + 3, ty), label, fill=(0, 0, 0))
    return img


class PreviewPane(QWidget):
    correction = Signal(str, object)  # (photo path, category name to add it to, or None = none of these)

    def __init__(self, window) -> None:
        super().__init__()
        self.main_window = window  # provides .explain_job(path) and .colours()
        self.path: str | None = None
        self._message = ""  # the explanation's note under the caption
        self.photo = None  # PIL image as the user sees it (oriented)
        self.maps: dict[str, np.ndarray] = {}
        self.scores: dict[str, float] = {}
        self.thresholds: dict[str, float] = {}
        self.flagged: set[str] = set()  # categories whose Grad-CAM failed the occlusion check
        self.head: dict[str, float] = {}  # the category model's own scores, before the familiarity check
        self.unlike: set[str] = set()  # categories only the familiarity check keeps the photo out of
        self.frames: list = []  # a video's sampled frames (ml.media_explain.FrameExplanation)
        self.frame_strip = QHBoxLayout()
        self.frame_strip.setSpacing(4)
        self.face_boxes: dict[str, tuple[float, float, float, float]] = {}
        self.image = QLabel("Select a photo to see how the model scores it.")
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setWordWrap(True)
        self.image.setMinimumSize(180, 160)  # 280 wide made the pane scroll sideways at 200%
        self.image.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)  # a pixmap never grows the window
        self.image.setAccessibleName("Selected photo")
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # long names wrap
        self.caption.setAccessibleName("Decision for the selected photo")
        self.bars = ScoreBars()
        self.held_out = None  # ml.confusion.Mistake: opened from the Train tab's list of wrong examples
        self.held_out_note = QLabel()  # that list's held-out score beside the final model's (the bars)
        self.held_out_note.setWordWrap(True)
        self.held_out_note.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.held_out_note.setAccessibleName("Held-out score and the final model's score")
        self.held_out_note.setVisible(False)
        self.show_cam = QCheckBox("Show where the model looked")  # short: it must fit the narrow pane at 200%
        self.show_cam.setChecked(True)
        self.cam_category = QComboBox()
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(50)
        self.opacity.setToolTip("Heatmap opacity")
        self.opacity.setAccessibleName("Heatmap opacity")
        self.opacity.setMinimumWidth(90)  # usable at the default size (was squeezed to ~10 px)
        self.show_cam.setAccessibleName("Show what the model looked at")
        self.cam_category.setAccessibleName("Category whose heatmap is shown")
        for changed in (self.show_cam.toggled, self.cam_category.currentIndexChanged, self.opacity.valueChanged):
            changed.connect(self.redraw)
        self.cam_note = QLabel()
        self.cam_note.setWordWrap(True)
        self.cam_note.setVisible(False)
        self.not_button = QPushButton("Not this category")  # named before any photo is shown
        self.not_button.setAccessibleName("Correct: this photo does not belong in this category")
        self.not_button.clicked.connect(self._not_this)
        self.also = QComboBox()
        self.also.setAccessibleName("Correct: this photo also belongs in a category")
        self.also.activated.connect(self._also)
        self.also.addItem("Also belongs in…")
        wheel_only_when_focused(self.cam_category, self.opacity, self.also)
        cam_row = ReflowRow()
        cam_row.addWidget(self.show_cam)
        cam_row.addWidget(self.cam_category, 1)
        op_row = QHBoxLayout()  # its own row: beside the others it was squeezed to a few pixels
        op_row.addWidget(QLabel("Heatmap opacity"))
        op_row.addWidget(self.opacity, 1)
        fix_row = ReflowRow()
        fix_row.addWidget(self.not_button)
        fix_row.addWidget(self.also, 1)
        self.rows = (cam_row, fix_row)  # side by side where they fit, else stacked (resizeEvent)
        # An explicit minimum: the scroll area around the pane then sizes it to what it is given
        # (not to the rows side by side), and resizeEvent stacks the rows that do not fit.
        self.setMinimumWidth(PANE_MIN_WIDTH)
        lay = QVBoxLayout(self)
        lay.addWidget(self.image, 1)
        lay.addLayout(self.frame_strip)
        lay.addWidget(self.caption)
        lay.addWidget(self.held_out_note)
        lay.addWidget(self.bars)
        lay.addLayout(cam_row)
        lay.addLayout(op_row)
        lay.addWidget(self.cam_note)
        lay.addLayout(fix_row)
        self._set_controls_enabled(False)

    def _set_controls_enabled(self, on: bool) -> None:
        for w in (self.show_cam, self.cam_category, self.opacity, self.not_button, self.also):
            w.setEnabled(on)
        sorting = getattr(self.main_window, "sorting", None)  # absent where the pane stands alone
        past = sorting.past_run_of(self.path) if sorting is not None else None
        for w in (self.not_button, self.also):  # a past run is shown as it happened: nothing to correct
            w.setEnabled(on and past is None)    # (the buttons used to be live and then refuse)
            w.setToolTip(f"Run {past} is shown read-only: sort the folder again (a new preview) to correct "
                         "photos." if past is not None else "")

    def _clear_corrections(self) -> None:
        """The correction controls name no category until a photo's decision is known: left
        saying "Not food" while the next photo loaded, they read as that photo's (tryout)."""
        self.not_button.setText("Not this category")
        self.not_button.setProperty("category", None)
        self.also.clear()
        self.also.addItem("Also belongs in…")
        self.cam_category.blockSignals(True)
        self.cam_category.clear()
        self.cam_category.blockSignals(False)

    def clear(self) -> None:
        """No photo: the grid's group is empty. The pane said the previous photo's decision, with
        working correction buttons, beside an empty group (tryout: "food — 0")."""
        self.path = None
        self.maps, self.scores, self.head, self.unlike = {}, {}, {}, set()
        self.photo, self.face_boxes, self.flagged = None, {}, set()
        self._message = ""
        self._set_frames([])
        self.image.clear()
        self.image.setText("No photo selected")
        self.caption.setText("")
        self.cam_note.setVisible(False)
        self.held_out = None
        self.held_out_note.setVisible(False)
        self.bars.set_scores([])
        self._clear_corrections()
        self._set_controls_enabled(False)

    def reload(self) -> None:
        """The open photo explained again: a new model was installed (the pane kept the old
        model's scores after a training finished — tryout)."""
        if self.path:
            self.show_photo(self.path)

    def show_photo(self, path: str) -> None:
        """Start explaining ``path``; until it is ready the pane shows a neutral "loading" state.

        The previous photo's picture must go at once: left up under the new caption it read as the
        new photo's (tryout: the old picture stood under the new name for a moment)."""
        self.path = path
        self.maps, self.scores, self.head, self.unlike = {}, {}, {}, set()
        self.photo, self.face_boxes, self.flagged = None, {}, set()  # a resize must not redraw the old one
        self._set_frames([])
        self.image.clear()
        self.image.setText("Loading…")
        self.cam_note.setVisible(False)
        self.caption.setText(f"{shown_name(path)} — loading…")
        self.caption.setToolTip(str(path))
        if self.held_out is not None and self.held_out.path != path:
            self.held_out = None
        self.held_out_note.setVisible(False)
        self.bars.set_scores([])
        self._clear_corrections()
        self._set_controls_enabled(False)
        self.main_window.explain_job(path, self._loaded)

    def _loaded(self, result) -> None:
        path, photo, scores, thresholds, maps, message, flagged, *more = result
        if path != self.path:
            return  # the user moved on
        self.face_boxes = more[1] if len(more) > 1 else {}  # issue 17: category → the face its decision rests on
        self.head = more[2] if len(more) > 2 else {}
        self.photo, self.scores, self.thresholds, self.maps = photo, scores, thresholds, maps
        self.flagged = set(flagged)
        self._set_frames(more[0] if more and len(more[0]) > 1 else [])
        if photo is None:
            self.image.setText(message)
            self.caption.setText(shown_name(path))
            return
        self._message = message
        chosen = self._show_decision()
        self.cam_category.blockSignals(True)
        self.cam_category.clear()
        self.cam_category.addItems(list(scores))
        # the heatmap first shown: the category a "Check:" line is about ("the category model alone
        # says Pets" — a tryout saw that line above a heatmap of Nature), else where the photo
        # goes, else its best score
        flagged = [c for c in scores if c in self.unlike]
        best = (flagged or chosen or [max(scores, key=scores.get)])[0] if scores else None
        if best is not None:
            self.cam_category.setCurrentText(best)
        self.cam_category.blockSignals(False)
        self._set_controls_enabled(bool(scores))
        self._caption = self.caption.text()
        if self.frames:
            self.caption.setText(self._caption + "<br>Bars: the whole video. Heatmap: the frame at "
                                 f"{_clock(self.frames[0].time)}; click a frame for its own scores.")
        self.redraw()

    def _show_decision(self) -> list[str]:
        """Bars and "goes to …" as the sort next to it decides: with the open preview's slider
        thresholds and the person's corrections (the pane used to contradict the grid after a
        correction or a slider move until the photo was selected again)."""
        path, scores = self.path or "", self.scores
        thresholds, said = dict(self.thresholds), None
        sorting = getattr(self.main_window, "sorting", None)  # absent where the pane stands alone
        live = sorting.decision_of(path) if sorting is not None else None
        if live is not None:
            slider_thresholds, said = live
            thresholds.update({c: t for c, t in slider_thresholds.items() if c in scores})
        colours = self.main_window.colours()
        chosen = [c for c, s in scores.items() if s >= thresholds.get(c, 0.5)] if said is None else list(said)
        self.bars.set_scores([(c, s, thresholds.get(c, 0.5), colours.get(c, "#669bbc")) for c, s in scores.items()],
                             decided=None if said is None else set(chosen))
        # the correction controls follow the decision (after a correction too: "Not food" stayed
        # up beside "goes to no category (your correction)")
        top = chosen[0] if chosen else None
        self.not_button.setText(f"Not {top}" if top else "Mark as: none of these")
        self.not_button.setProperty("category", top)
        self.also.clear()
        self.also.addItem("Also belongs in…")
        self.also.addItems([c for c in scores if c not in chosen])
        where = f"goes to {', '.join(chosen)}" if chosen else "goes to no category"
        outcome = sorting.outcome_words_of(path) if sorting is not None else None  # (None for photos it does not show)
        if outcome is not None and said is None:  # "goes to" was wrong after Apply or for an earlier run's copy (tryout)
            where = outcome
        elif outcome is not None and sorting is not None and sorting.applied_run_of(path) is None:
            where = outcome  # a correction that agrees with an earlier run's copy: "already sorted", as
            # the grid groups it (the pane said "goes to Cars" beside the "Already sorted" group — tryout)
        if said is not None:
            where += " (your correction)"
        duplicate = sorting.duplicate_of(path) if live is not None and sorting is not None else None
        if duplicate:  # sorted once, as the photo it is identical to (it said "goes to pets" in "Already sorted")
            where = f"{duplicate}, which is sorted: this one is not copied again"
        message = self._message
        run = sorting.past_run_of(path) or sorting.applied_run_of(path) if sorting is not None else None
        tile = sorting.tile_scores_of(path) if sorting is not None and run is not None else None
        if tile and any(abs(tile[c] - scores[c]) >= 0.005 for c in tile if c in scores):
            # an applied or past run keeps the scores it decided with; the bars are today's model's
            # (a tryout read "pets 0.28" on the tile and 0.26 in the pane)
            message = (f"The tile shows the scores run {run} decided with; the bars are the current model's, "
                       "retrained since." + (f"<br>{message}" if message else ""))
        if live is not None and sorting is not None:
            unlike = sorting.unlike_of(path) if said is None else []
        else:  # the pane alone (no preview open): the same rule on the photo's own scores
            unlike = [c for c in scores if c in self.head and unlike_examples_mask(
                np.array(self.head[c]), np.array(scores[c]), np.array(thresholds.get(c, 0.5)))]
        self.unlike = set(unlike)
        near = sorting.near_of(path) if live is not None and sorting is not None and said is None and not unlike else None
        if near is not None:  # why it is in "check first" (a tryout found no reason for these)
            cat, score, threshold = near
            d = score_digits(score, threshold)
            message = (f"Check: close to the {cat} threshold ({score:.{d}f} against {threshold:.{d}f}). {SAY_WHERE}"
                       + (f"<br>{message}" if message else ""))
        if unlike:
            ask = f" {SAY_WHERE}" if live is not None else ""
            message = f"{unlike_reason(unlike)}.{ask}" + (f"<br>{message}" if message else "")
        self.caption.setText(f"<b>{shown_name(path)}</b> — {where}" + (f"<br>{message}" if message else ""))
        self._show_held_out()
        return chosen

    def show_held_out(self, mistake) -> None:
        """Opened from the Train tab's list of wrong examples: that list shows the *held-out* score
        (a model that never saw the photo), the bars the final model's, which trained on it. Side by
        side and named, they no longer read as a contradiction ("0.00 missed" vs "1.00 ✓")."""
        self.held_out = mistake
        self._show_held_out()

    def _show_held_out(self) -> None:
        m = self.held_out
        if m is None or m.path != self.path or not self.scores:
            self.held_out_note.setVisible(False)
            return
        kind = {"missed": "missed", "taken": f"wrongly taken in by {m.category}"}.get(m.kind, "right")
        final = self.scores.get(m.category)
        then = (f"The final model, which trained on this photo, gives it {final:.2f} (the bars)."
                if final is not None else "The final model no longer has this category.")
        d = score_digits(m.score, m.threshold)  # "0.52 (missed; threshold 0.52)" read as a contradiction
        self.held_out_note.setText(f"<b>Held-out score for {m.category}: {m.score:.{d}f}</b> ({kind}; threshold "
                                   f"{m.threshold:.{d}f}), from a model that never saw this photo — the number in the "
                                   f"Train tab's list. {then}")
        self.held_out_note.setVisible(True)

    def refresh_decision(self) -> None:
        """The open photo's decision again (a correction or a threshold changed; no rescoring)."""
        if self.photo is not None and self.scores and not self.frames:
            self._show_decision()
            self._caption = self.caption.text()

    def redraw(self, *_args) -> None:
        if self.photo is None:
            return
        img = self.photo
        cat = self.cam_category.currentText()
        absent = bool(cat) and cat in self.scores and cat not in self.maps
        unlike = cat in self.unlike and cat in self.maps and not self.frames
        self.cam_note.setVisible(self.show_cam.isChecked()
                                 and (cat in self.flagged or absent or unlike or cat in self.face_boxes))
        if cat in self.face_boxes:  # issue 17: a person category decides by who is in the photo
            self.cam_note.setText(f"{cat} is about one person: the decision rests on the boxed face being theirs "
                                  "(face recognition, on this computer). The heatmap shows the rest of the evidence.")
        elif unlike:
            # the heatmap is of the category model, which says yes; the final score is the gated one
            # (the pane said "nothing of it was found" beside "the model alone says Pets" — tryout)
            warn = (" ⚠ Look twice: Grad-CAM's highlight was not where the evidence is; shown instead: what "
                    "hiding each part does to the score.") if cat in self.flagged else ""
            self.cam_note.setText(f"The category model alone gives this photo {self.head[cat]:.2f} for {cat}; the "
                                  f"heatmap shows what it looked at. The photo is unlike your {cat} examples, so "
                                  f"its score is {self.scores[cat]:.2f} and it stays out.{warn}")
        elif absent:
            # A heatmap is normalised to its own peak: drawn for a score of ~0 it would look as
            # confident as any other. Nothing of this category was found, so nothing is drawn.
            self.cam_note.setText(f"This photo scores {self.scores[cat]:.2f} for {cat}: nothing of it was found, "
                                  "so there is no heatmap to show.")
        else:
            self.cam_note.setText(f"⚠ Look twice: for {cat}, Grad-CAM's highlight was not where the evidence is "
                                  "(hiding it barely changed the score). Shown instead: what hiding each part of the "
                                  "photo does to the score.")
        if self.show_cam.isChecked() and cat in self.maps:
            from ..ml.gradcam import render

            img = render(self.photo, self.maps[cat], self.opacity.value() / 100).overlay
        img = draw_face_boxes(img, {c: b for c, b in self.face_boxes.items()
                                    if c == cat or self.scores.get(c, 0) >= self.thresholds.get(c, 0.5)})
        pm = QPixmap.fromImage(pil_to_qimage(img))
        self.image.setPixmap(pm.scaled(self.image.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                       Qt.TransformationMode.SmoothTransformation))

    def _set_frames(self, frames: list) -> None:
        """Rebuild the frame strip: one button per sampled frame, with its time and best score."""
        while self.frame_strip.count():
            item = self.frame_strip.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.frames = frames
        colours = self.main_window.colours() if frames else {}
        for i, f in enumerate(frames):
            b = QToolButton()
            b.setCheckable(True)
            b.setChecked(i == 0)
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
            thumb = f.image.copy()
            thumb.thumbnail((96, 96))
            b.setIcon(QIcon(QPixmap.fromImage(pil_to_qimage(thumb))))
            b.setIconSize(QSize(96, 72))
            best = max(f.scores, key=f.scores.get) if f.scores else None
            t = _clock(f.time)
            b.setText(f"{t}\n{best} {f.scores[best]:.2f}" if best else t)
            if best and f.scores[best] >= self.thresholds.get(best, 0.5):
                b.setStyleSheet(f"QToolButton {{ border-bottom: 3px solid {colours.get(best, '#669bbc')}; }}")
            b.clicked.connect(lambda _=False, k=i: self._show_frame(k))
            self.frame_strip.addWidget(b)
        if frames:
            self.frame_strip.addStretch(1)

    def _show_frame(self, k: int) -> None:
        """Show one sampled frame of a video: its picture, scores and heatmaps."""
        f = self.frames[k]
        for i in range(self.frame_strip.count()):
            item = self.frame_strip.itemAt(i)
            w = item.widget() if item is not None else None
            if isinstance(w, QToolButton):
                w.setChecked(i == k)
        self.photo, self.maps, self.flagged = f.image, f.maps, set(f.flagged)
        self.caption.setText(getattr(self, "_caption", "") + f"<br>Bars and heatmap: the frame at {_clock(f.time)}.")
        colours = self.main_window.colours()
        self.bars.set_scores([(c, s, self.thresholds.get(c, 0.5), colours.get(c, "#669bbc")) for c, s in f.scores.items()])
        self.redraw()

    def resizeEvent(self, e):
        super().resizeEvent(e)
        for row in self.rows:
            row.fit(self.contentsRect().width() - 20)
        self.redraw()

    def _not_this(self) -> None:
        if self.path:
            # "Not Food": the photo becomes a "none of these" example (it belongs nowhere we know).
            self.correction.emit(self.path, None)

    def _also(self, index: int) -> None:
        if self.path and index > 0:
            self.correction.emit(self.path, self.also.itemText(index))
            self.also.setCurrentIndex(0)


class ReflowRow(QBoxLayout):
    """A row of controls that stacks them when the pane is narrower than they need side by side
    (a 200% screen is 800 px wide: side by side they made the preview scroll sideways)."""

    def __init__(self) -> None:
        super().__init__(QBoxLayout.Direction.LeftToRight)

    def wide_need(self) -> int:
        items = [self.itemAt(i) for i in range(self.count())]
        return sum(it.minimumSize().width() for it in items if it is not None) + self.spacing() * (len(items) - 1)

    def fit(self, width: int) -> None:
        want = QBoxLayout.Direction.LeftToRight if width >= self.wide_need() else QBoxLayout.Direction.TopToBottom
        if self.direction() != want:
            self.setDirection(want)


#: A file name has no spaces to wrap at: longer than this, its middle is left out in the caption
#: (the whole path is the caption's tooltip). Cut at the pane's edge it lost its end and extension.
NAME_SHOWN = 44


def shown_name(path: str) -> str:
    name = Path(path).name
    return name if len(name) <= NAME_SHOWN else f"{name[:NAME_SHOWN - 15]}…{name[-14:]}"


def _clock(seconds: float | None) -> str:
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}" if seconds is not None else ""


class PhotoDialog(QDialog):
    """One photo large, with its scores and heatmaps (Space/Enter in the review grid). Esc, Space
    or Enter closes it again, so reviewing stays on the keyboard.

    Its correction buttons are never a dialog's default button and do not take the focus when it
    opens: a tryout pressed Enter to close the view, as Enter had opened it, and Enter pressed the
    focused "Not pets" instead; the cat became a "none of these" example, and after Apply a second
    Enter moved its right copy to the trash. A correction here is a click (or Tab to the button and
    Space), never the key that opened the view."""

    def __init__(self, window, path: str, held_out=None) -> None:
        super().__init__(window)
        self.setWindowTitle(Path(path).name)
        self.pane = PreviewPane(window)
        self.pane.held_out = held_out  # ml.confusion.Mistake when opened from the Train tab's list
        self.pane.correction.connect(window.correct)
        lay = QVBoxLayout(self)
        lay.addWidget(self.pane)
        screen = window.screen().availableGeometry()
        self.resize(min(1000, int(screen.width() * 0.9)), min(800, int(screen.height() * 0.9)))
        for button in self.findChildren(QPushButton):
            button.setAutoDefault(False)
            button.setDefault(False)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.pane.show_photo(path)

    def showEvent(self, e) -> None:
        super().showEvent(e)
        self.setFocus()  # not the first button in the focus chain (QDialog's choice)

    def keyPressEvent(self, e) -> None:
        if e.key() in (Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.accept()
            return
        super().keyPressEvent(e)
