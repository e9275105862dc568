"""Entry point: no arguments → the desktop app; a subcommand → the CLI."""

from __future__ import annotations

import sys


def main_gui(background: bool = False) -> int:
    import os

    if (sys.platform.startswith("linux") and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY")
            and not os.environ.get("QT_QPA_PLATFORM")):
        print("photosorter: no display found, so the window cannot open. Start it from a desktop session, "
              "or use the command line: photosorter --help", file=sys.stderr)
        return 2
    try:
        from .gui.app import run
    except ImportError as exc:  # Qt or one of its system libraries is missing
        print(f"photosorter: the desktop window cannot start ({exc}). Install the Qt system libraries "
              "(on Debian/Ubuntu: libegl1 libxkbcommon0 libxcb-cursor0), or use the command line: "
              "photosorter --help", file=sys.stderr)
        return 1
    return run(background=background)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        return main_gui()
    if argv == ["--background"]:  # started at login: tray only
        return main_gui(background=True)
    from .cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
