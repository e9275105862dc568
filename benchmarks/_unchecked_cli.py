"""``photosorter`` CLI with the fast modes' run-time checks bypassed — for benchmarks only.

With random ResNet50 weights (the real ones cannot be downloaded on the benchmark machine) the
bf16 and int8 self-checks rightly refuse the fast modes, so sorting would run in fp32; this entry
point measures the fast path itself (memory.py --bypass-checks). Never for real photos.
"""

from __future__ import annotations

import sys

from photosorter.cli import main
from photosorter.ml import numerics, quantize


def _without_check(cls: type) -> None:
    """Every new instance of ``cls`` skips its check (require_check=False), whatever its caller says."""
    init = cls.__init__

    def __init__(self, *args, **kwargs) -> None:
        init(self, *args, **kwargs)
        self.require_check = False

    cls.__init__ = __init__


if __name__ == "__main__":
    _without_check(numerics.Bf16Check)
    _without_check(quantize.Int8Runner)
    sys.exit(main())
