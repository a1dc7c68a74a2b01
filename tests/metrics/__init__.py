"""Tests of rawmeta.metrics."""
