"""Files: reading RAWs and JPEG pixels, writing DNG and the other restored files, atomically.

``rawfile`` (LibRaw through rawpy, LinearRaw DNGs through tifffile),
``libraw_ids``, ``jpeg_pixels`` (the one JPEG decoder), ``dng`` (DNG writing),
``outputs`` (restored .dng/.tiff/.npy), ``ljpeg`` (the DNG tiles' lossless
JPEG), ``shot_metadata`` (the JPEG's EXIF and XMP, for the DNG), ``raw_shot`` (the RAW's
shot tags, for the payload),
``restore_mark`` (the mark every restored file carries), ``atomic`` (temp file, fsync, rename) and
``userfiles`` (reading and writing the user's files, never overwriting one).

May import: ``rawmeta.format`` and the top-level helpers (``errors``,
``progress``); rawpy, tifffile and Pillow. Never torch.
"""
