"""``photosorter`` CLI with the fast modes' run-time checks bypassed — for benchmarks only.

With random ResNet50 weights (the real ones cannot be downloaded on the benchmark machine) the
bf16 and int8 self-checks rightly refuse the fast modes, so sorting would run in fp32; this entry
point measures the fast path itself (memory.py --bypass-checks). Never for real photos.
"""

from __future__ import annotations

import sys

from photosorter.cli import main
from photosorter.ml import numerics, quantize

if __name__ == "__main__":
    for cls in (numerics.Bf16Check, quantize.Int8Runner):
        init = cls.__init__
        cls.__init__ = lambda self, *a, _init=init, **k: (_init(self, *a, **k), setattr(self, "require_check", False))[0]
    sys.exit(main())
