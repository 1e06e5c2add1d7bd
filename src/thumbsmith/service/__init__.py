"""What happens to one object: events in, renditions written or deleted, one verdict out.

Depends on the core, the errors and the store protocol only; runners build it from the
settings (:mod:`thumbsmith.runners.bootstrap`).
"""
