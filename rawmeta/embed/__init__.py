"""Embedding: choosing a payload for a byte budget and writing it into a JPEG.

``jpeg`` (``make_payload``, ``embed_file``, ``strip_file``), ``budget`` (the
planner that picks stride, bits and refinement blocks for a budget),
``block_restore`` (the reader's restore as the planner sees it: exact on the
blocks it predicts, estimated elsewhere), ``transfer`` (``embed --from``),
``report`` (``inspect``) and ``white_balance`` (the as-shot balance read off the
JPEG where the RAW names none).

May import: ``rawmeta.format``, ``rawmeta.io``, ``rawmeta.alignment``,
``rawmeta.restore`` (the planner runs the reader's restore), ``rawmeta.metrics``
and the top-level helpers.
"""
