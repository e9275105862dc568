"""Start-at-login hooks: written and removed, per platform (registry faked on non-Windows)."""

from __future__ import annotations

import plistlib
import shutil
import subprocess

from photosorter import autostart


def test_linux_autostart_entry(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    assert not autostart.is_enabled("linux")
    autostart.enable(["/opt/photosorter/bin/photosorter", "--background"], platform="linux")
    entry = tmp_path / "cfg" / "autostart" / "photosorter.desktop"
    assert autostart.is_enabled("linux") and entry.is_file()
    text = entry.read_text()
    assert "Exec=/opt/photosorter/bin/photosorter --background" in text and text.startswith("[Desktop Entry]")
    if shutil.which("desktop-file-validate"):
        proc = subprocess.run(["desktop-file-validate", str(entry)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    autostart.disable("linux")
    assert not entry.exists() and not autostart.is_enabled("linux")


def test_mac_launch_agent(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    autostart.enable(["/Applications/photosorter.app/Contents/MacOS/photosorter", "--background"], platform="darwin")
    plist = tmp_path / "Library" / "LaunchAgents" / "org.photosorter.agent.plist"
    doc = plistlib.loads(plist.read_bytes())
    assert doc["RunAtLoad"] is True and doc["ProgramArguments"][-1] == "--background"
    autostart.disable("darwin")
    assert not plist.exists()


class FakeWinreg:
    HKEY_CURRENT_USER, REG_SZ, KEY_SET_VALUE = "HKCU", 1, 2

    def __init__(self):
        self.values = {}

    class _Key:
        def __init__(self, reg):
            self.reg = reg

        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

    def CreateKey(self, root, path):
        return self._Key(self)

    def OpenKey(self, root, path, *a):
        return self._Key(self)

    def SetValueEx(self, key, name, _r, _t, value):
        self.values[name] = value

    def QueryValueEx(self, key, name):
        if name not in self.values:
            raise FileNotFoundError(name)
        return self.values[name], 1

    def DeleteValue(self, key, name):
        if name not in self.values:
            raise FileNotFoundError(name)
        del self.values[name]


def test_windows_run_key():
    reg = FakeWinreg()
    autostart.enable([r"C:\Program Files\photosorter\photosorter.exe", "--background"], platform="win32", winreg=reg)
    assert reg.values["photosorter"] == r'"C:\Program Files\photosorter\photosorter.exe" --background'
    assert autostart.is_enabled("win32", winreg=reg)
    autostart.disable("win32", winreg=reg)
    assert not autostart.is_enabled("win32", winreg=reg)
    autostart.disable("win32", winreg=reg)  # idempotent
