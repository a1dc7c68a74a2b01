"""Alignment: where a JPEG's pixels lie in a RAW's raw-RGB, found by matching image content.

``matching`` holds ``align`` (the search), ``warp`` and the helpers that put a
RAW on a JPEG's grid; the record it returns, :class:`rawmeta.format.alignment.Alignment`,
is part of the byte format.

May import: ``rawmeta.format``, ``rawmeta.io``, ``rawmeta.resample``,
``rawmeta.errors``.
"""
