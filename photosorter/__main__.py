"""Entry point: no arguments → the desktop app; a subcommand → the CLI."""

from __future__ import annotations

import sys


def main_gui() -> int:
    import os

    if (sys.platform.startswith("linux") and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY")
            and not os.environ.get("QT_QPA_PLATFORM")):
        print("photosorter: no display found, so the window cannot open. Start it from a desktop session, "
              "or use the command line: photosorter --help", file=sys.stderr)
        return 2
    try:
        from .gui.app import run  # type: ignore[attr-defined]
    except ImportError:
        print(
            "photosorter: the desktop window is not part of this version yet; "
            "running the headless demo instead (see 'photosorter --help' for the CLI).",
            file=sys.stderr,
        )
        from .demo import run_demo

        return run_demo()
    return run()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        return main_gui()
    from .cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
