"""The Jiasao public API gateway: the only public listener, forwarding to the five services."""
