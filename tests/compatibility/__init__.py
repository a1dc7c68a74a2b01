"""Compatibility of embedded JPEGs with other JPEG tools and re-encoders."""
