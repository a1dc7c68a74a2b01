"""Tests of rawmeta.embed."""
