"""Experiments and README-image tools, kept apart from the speed/memory/accuracy benchmarks:
checks that a method does what it claims (explain_check, numerics_check, cooccurrence) and the
contact sheet shown in the README (gradcam_sheet). Run with ``python -m benchmarks NAME``."""
