"""Benchmarks for the Jiasao platform."""
