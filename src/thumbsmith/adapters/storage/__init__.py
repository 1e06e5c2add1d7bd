"""Stores: local folders as buckets (:mod:`.local`), S3 and S3-compatible servers
(:mod:`.s3`), and named files as a read-only bucket (:mod:`.files`). Each implements
:class:`thumbsmith.service.ports.Store`."""
