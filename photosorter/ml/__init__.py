"""Machine learning core: backbones, cached features, the head, calibration, Grad-CAM. Qt-free."""
