"""The runtime every Jiasao service stands on. Not a service: no domain code lives here."""
