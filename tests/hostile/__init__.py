"""Hostile inputs: a corpus of malformed files run through every command."""
