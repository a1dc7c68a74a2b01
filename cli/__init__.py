"""The rawmeta command line (a thin layer over the :mod:`rawmeta` library)."""
