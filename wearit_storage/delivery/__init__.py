"""Edge delivery: CloudFront signed URLs and cookies for the served categories, and the
one seam every stored-image URL is made through (:class:`ImageUrls`)."""
