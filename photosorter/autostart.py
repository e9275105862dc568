"""Start at login, per platform, behind one small interface. Qt-free.

* Linux/BSD: a freedesktop autostart entry, ``$XDG_CONFIG_HOME/autostart/photosorter.desktop``.
* macOS: a LaunchAgent, ``~/Library/LaunchAgents/org.photosorter.agent.plist`` (RunAtLoad).
* Windows: the per-user registry Run key ``HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run``.

The app starts with ``--background``: into the tray, watching if the user left watching on.
"""

from __future__ import annotations

import os
import plistlib
import shlex
import shutil
import sys
from pathlib import Path

APP_ID = "photosorter"
MAC_LABEL = "org.photosorter.agent"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"


def launch_command() -> list[str]:
    """How to start this installation: the installed launcher if there is one, else this Python."""
    exe = shutil.which("photosorter")
    return [exe, "--background"] if exe else [sys.executable, "-m", "photosorter", "--background"]


def _platform(platform: str | None) -> str:
    p = platform or sys.platform
    return "windows" if p.startswith("win") else "mac" if p == "darwin" else "linux"


def entry_path(platform: str | None = None) -> Path | None:
    kind = _platform(platform)
    if kind == "linux":
        base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
        return base / "autostart" / f"{APP_ID}.desktop"
    if kind == "mac":
        return Path.home() / "Library" / "LaunchAgents" / f"{MAC_LABEL}.plist"
    return None  # Windows: the registry


def desktop_entry(command: list[str]) -> str:
    return "\n".join([
        "[Desktop Entry]",
        "Type=Application",
        "Name=photosorter",
        "Comment=Keep sorting new photos into your categories",
        f"Exec={shlex.join(command)}",
        "Icon=photosorter",
        "Terminal=false",
        "Categories=Graphics;Photography;",
        "X-GNOME-Autostart-enabled=true",
        "",
    ])


def enable(command: list[str] | None = None, platform: str | None = None, winreg=None) -> None:
    command = command or launch_command()
    kind = _platform(platform)
    if kind == "windows":
        reg = winreg or __import__("winreg")
        with reg.CreateKey(reg.HKEY_CURRENT_USER, RUN_KEY) as key:
            reg.SetValueEx(key, APP_ID, 0, reg.REG_SZ, " ".join(f'"{c}"' if " " in c else c for c in command))
        return
    path = entry_path(platform)
    assert path is not None
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "linux":
        data = desktop_entry(command).encode()
    else:
        data = plistlib.dumps({"Label": MAC_LABEL, "ProgramArguments": command, "RunAtLoad": True,
                               "ProcessType": "Interactive"})
    tmp = path.with_name(f".pending-{path.name}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def disable(platform: str | None = None, winreg=None) -> None:
    if _platform(platform) == "windows":
        reg = winreg or __import__("winreg")
        try:
            with reg.OpenKey(reg.HKEY_CURRENT_USER, RUN_KEY, 0, reg.KEY_SET_VALUE) as key:
                reg.DeleteValue(key, APP_ID)
        except FileNotFoundError:
            pass
        return
    path = entry_path(platform)
    if path is not None:
        path.unlink(missing_ok=True)


def is_enabled(platform: str | None = None, winreg=None) -> bool:
    if _platform(platform) == "windows":
        reg = winreg or __import__("winreg")
        try:
            with reg.OpenKey(reg.HKEY_CURRENT_USER, RUN_KEY) as key:
                reg.QueryValueEx(key, APP_ID)
            return True
        except FileNotFoundError:
            return False
    path = entry_path(platform)
    return path is not None and path.exists()
