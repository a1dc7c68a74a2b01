"""Tests of rawmeta.benchmarks."""
