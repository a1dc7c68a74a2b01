"""Tests of rawmeta.restore."""
