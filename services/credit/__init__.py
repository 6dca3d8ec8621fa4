"""Credit: certificates (training certificates first) and, later, workers' credit records."""
