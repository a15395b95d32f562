"""Benchmarks of the nightly load (`make bench`)."""
