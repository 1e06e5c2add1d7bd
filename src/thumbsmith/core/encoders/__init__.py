"""From upright sRGB pixels to bytes, one module per output format."""
