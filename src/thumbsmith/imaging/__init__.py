"""The pure imaging core: bytes and specs in, renditions out. No storage, no network."""
