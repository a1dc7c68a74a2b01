"""Fuzzing of every parser: targets, the pytest run and the long run."""
