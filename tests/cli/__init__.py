"""Tests of the command line (rawmeta.cli)."""
