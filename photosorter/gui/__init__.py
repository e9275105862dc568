"""The desktop app: the only package that may import Qt (PySide6). Not built yet."""
