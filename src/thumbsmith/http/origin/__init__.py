"""The on-demand origin: one HTTP app over the output store and the render pool."""
