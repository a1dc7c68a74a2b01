"""The byte format: what rawmeta writes into a JPEG and reads back (docs/FORMAT.md).

APP9 segments (``segments``, ``container``), the payload (``payload``), the
sample grid (``grid``), sample coding and prediction (``sample_coding``,
``prediction``), refinement blocks (``refinement``), the JPEG fingerprint
(``fingerprint``), the alignment record (``alignment``), EXIF orientations
(``orientation``), camera facts (``camera``) and the shot's tags (``shot``).

May import: ``rawmeta.errors``, numpy and zstandard. Never torch or Pillow,
so that reading and checking a payload stays light (a test proves it).
"""
