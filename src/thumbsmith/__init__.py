"""thumbsmith: every image uploaded to a bucket becomes web-ready thumbnails.

The imaging core is pure (bytes and specs in, renditions out); storage and event
sources are adapters at the edge. Heavy imports (pyvips, boto3) stay lazy so the
Lambda cold start only pays for what a call uses.
"""

__version__ = "0.1.0"
