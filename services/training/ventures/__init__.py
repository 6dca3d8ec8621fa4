"""Entrepreneurship support (创业孵化): a worker's business project, guidance sessions with
mentors, financing matchmaking requests, a start-up subsidy claim with officer review and
payment, and 众创杯 contest entries with their results.

A module of training rather than a new service: it serves the same people (workers who took
entrepreneurship training), reuses training's read model of workers and its review-and-pay
pattern, and has no load of its own that would call for separate scaling.
"""
