"""Restoring raw-RGB from an sRGB image and the payload's samples.

``methods`` is the one registry of restore methods (``fast``, ``paper``,
``rbf``); each has its own module. ``patches`` is the patch grid they share,
``highlights`` the fast method's treatment of clipped highlights,
``engine`` the arrays the fast and RBF methods compute with (NumPy on a CPU,
torch on CUDA; only the paper preset always imports torch), ``patchwise``
runs a method over the patches of an image (``reconstruct``, on arrays) and
``jpeg`` restores a JPEG file into a DNG, TIFF or NumPy file.

May import: ``rawmeta.format``, ``rawmeta.io``, ``rawmeta.metrics`` (the clip threshold) and the
top-level helpers.
"""
