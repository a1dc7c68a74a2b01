"""Folder work: pairing RAWs with their JPEGs, archive tasks that never raise, and running them
in this process, in worker processes or on a Dask cluster.

``pairing`` (finding pairs), ``tasks`` (one file's embed, restore or verify,
and the plans of a folder's tasks), ``runner`` (processes and Dask).

May import: every library subpackage; not ``rawmeta.benchmarks`` or the CLI.
"""
