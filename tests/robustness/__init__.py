"""Robustness corpus: hostile and broken inputs, generated from the clean sample export."""
