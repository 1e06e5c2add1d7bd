"""The pipeline's steps, one small module each; :mod:`thumbsmith.core.pipeline` orders them."""
