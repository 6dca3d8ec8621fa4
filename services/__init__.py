"""The five Jiasao services and the kit they stand on."""
