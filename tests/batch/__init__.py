"""Tests of rawmeta.batch."""
