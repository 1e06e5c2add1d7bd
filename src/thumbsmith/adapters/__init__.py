"""The edges: object storage, queues and the AWS clients behind them.

botocore errors become thumbsmith's typed errors here, once (:mod:`thumbsmith.adapters.aws`),
so nothing above this layer ever sees a botocore exception.
"""
