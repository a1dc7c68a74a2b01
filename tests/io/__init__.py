"""Tests of rawmeta.io."""
