"""Helpers shared by the test suites: databases, service apps, polling."""
