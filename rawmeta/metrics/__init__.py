"""How close a restored raw-RGB image is to the true one: PSNR, SSIM, clipping, error maps.

May import: ``rawmeta.io`` (to write an error map), ``rawmeta.resample`` and
``rawmeta.errors``.
"""
