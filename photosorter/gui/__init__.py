"""The desktop app (PySide6). The only package that may import Qt."""

from .binding_fix import make_none_immortal

make_none_immortal()  # before any widget paints: see binding_fix
