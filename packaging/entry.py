"""Entry point of the frozen bundle: the same `photosorter` command as a pip install.

No arguments opens the window; a subcommand runs the CLI (the bundle is also the headless tool).
"""

import logging
import multiprocessing
import sys

from photosorter.__main__ import main

if __name__ == "__main__":
    # triton (torch.compile's GPU compiler) is left out of the bundle; torch warns about it on import
    logging.getLogger("torch.utils.flop_counter").setLevel(logging.ERROR)
    multiprocessing.freeze_support()  # harmless on Linux; needed if worker processes ever start frozen
    sys.exit(main())
