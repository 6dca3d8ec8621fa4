"""Rating: the yearly 1–5 star level of each worker, from employer, company and self scores."""
