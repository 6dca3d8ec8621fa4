"""Matching: the candidate read model built from registry, credit and rating events."""
