"""Benchmarks for mastod (issue 5): one command, `python -m bench`, see bench/README.md.

Every figure is a ratio against a baseline measured in the same run; nothing here asserts
a time.
"""
