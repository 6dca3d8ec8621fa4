"""Developer tooling: the ``make run`` supervisor, a managed nats-server, port helpers.

Not shipped with the services; the e2e tests and the benchmarks use the same pieces.
"""
