"""Helpers for testing extractors without a Clowder: a stand-in Clowder and Clowder-shaped requests."""
