"""Crashes mid-write: commands killed at every stage leave the user's files intact."""
