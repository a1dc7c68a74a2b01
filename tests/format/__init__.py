"""Tests of rawmeta.format."""
