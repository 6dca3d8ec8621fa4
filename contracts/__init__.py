"""Event contracts shared by all Jiasao services: the envelope and one module per producer."""
