"""``thumbsmith receive``'s HTTP side: bucket notifications in, a verdict out."""
