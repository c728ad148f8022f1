"""The S3 layer: the client and its botocore transport, presigning, paginated listings,
the multipart sink, per-key versions and the health check. Nothing here knows what a
WearIT upload or user is beyond the key rules of :mod:`wearit_storage.paths`."""
