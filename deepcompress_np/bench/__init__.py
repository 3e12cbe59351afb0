"""Benchmarks: ``python -m deepcompress_np bench`` prints the figures.

Each module here measures one thing and exposes ``run(...) -> dict`` of figures;
nothing here is a test and nothing asserts on time.
"""
