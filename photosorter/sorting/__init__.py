"""Sorting engine: plan, copy, journal, recover, undo, watch. Qt-free."""
