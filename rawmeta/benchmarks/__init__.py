"""Benchmarks behind docs/BENCHMARKS.md (``rawmeta bench``) and the harness code they share.

``sections`` is the registry of benchmark sections; each section has its own
module (``embed``, ``rate_distortion``, ``restore``, ``align``, ``scale``,
``archive``, ``roundtrip``, ``speed``). ``render`` makes sRGB renders of RAWs (LibRaw, RawTherapee),
``synthetic`` the project's sample scene, ``plot`` the figures.

May import anything in the library; the library never imports this package.
"""
