"""Tests of rawmeta.alignment."""
