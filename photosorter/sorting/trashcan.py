"""Moving a copy to the system trash so that the trash's "Restore" puts it back where it was.

Undo hands the trash a copy through the folder descriptor it verified (Linux:
``/proc/self/fd/N/name``), so a folder swapped for a symlink meanwhile cannot redirect the move.
send2trash records the path it was given as the file's original location, so every trashed copy
said ``Path=/proc/self/fd/23/IMG_1.jpg`` and a file manager could not restore it (tryout). On
freedesktop systems (send2trash's ``plat_other``) this module does the same move — the same trash
folder choice, the same collision naming, info file first — but records the copy's real
location. Elsewhere (macOS, Windows, GIO) the path handed over is used as it is.
"""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path


def trash(path: Path, restore_to: Path | None = None) -> None:
    """Move ``path`` to the trash; the trash remembers ``restore_to`` (default: ``path``)."""
    from send2trash import send2trash

    # macOS, Windows, GIO: the backend decides what it records
    if restore_to is None or sys.platform in ("darwin", "win32") or send2trash.__module__ != "send2trash.plat_other":
        send2trash(str(path))
        return
    _freedesktop_trash(os.fsencode(os.fspath(path)), os.fsencode(os.path.abspath(restore_to)))


def _freedesktop_trash(path_b: bytes, original_b: bytes) -> None:
    from send2trash import plat_other as po

    if not os.path.lexists(path_b):
        raise OSError(errno.ENOENT, f"File not found: {os.fsdecode(path_b)}")
    if not os.access(path_b, os.W_OK):
        raise OSError(errno.EACCES, f"Permission denied: {os.fsdecode(path_b)}")
    path_dev = po.get_dev(path_b)
    if path_dev == po.get_dev(os.path.realpath(os.path.expanduser(b"~"))):
        topdir, dest_trash = po.XDG_DATA_HOME, po.HOMETRASH_B
    else:
        topdir = po.find_mount_point(path_b)
        if po.get_dev(topdir) != path_dev:
            raise OSError(f"Couldn't find mount point for {os.fsdecode(original_b)}")
        dest_trash = po.find_ext_volume_trash(topdir)
    try:
        _move(path_b, original_b, dest_trash, topdir)
    except OSError as error:
        if error.errno != errno.EXDEV:
            raise
        _move(path_b, original_b, po.HOMETRASH_B, po.XDG_DATA_HOME, cross_dev=True)


def _move(src: bytes, original: bytes, trash_dir: bytes, topdir: bytes, cross_dev: bool = False) -> None:
    """send2trash's ``trash_move``, with the info file naming ``original`` instead of ``src``."""
    import shutil

    from send2trash import plat_other as po

    files_path = os.path.join(trash_dir, po.FILES_DIR)
    info_path = os.path.join(trash_dir, po.INFO_DIR)
    base_name, ext = os.path.splitext(os.path.basename(original))
    dest_name = os.path.basename(original)
    counter = 0
    while os.path.lexists(os.path.join(files_path, dest_name)) or os.path.lexists(
            os.path.join(info_path, dest_name + po.INFO_SUFFIX)):
        counter += 1
        dest_name = base_name + b" " + str(counter).encode("ascii") + ext
    po.check_create(files_path)
    po.check_create(info_path)
    info_file = os.path.join(info_path, dest_name + po.INFO_SUFFIX)
    with open(info_file, "w") as f:
        f.write(po.info_for(original, topdir))
    dest_path = os.path.join(files_path, dest_name)
    try:
        if cross_dev:
            shutil.move(os.fsdecode(src), os.fsdecode(dest_path))
        else:
            os.rename(src, dest_path)
    except OSError:
        os.unlink(info_file)  # the file did not go: no info file for a file that is not there
        raise
