"""Registry: who everyone is — workers, companies, institutions, employers, partners; accounts."""
