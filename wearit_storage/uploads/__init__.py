"""Getting an image into storage: renditions stored all-or-nothing (:mod:`.store`), direct
uploads through ``temp/`` (:mod:`.direct`, :mod:`.destination`), their outcome records
(:mod:`.status`), the S3 events that announce them (:mod:`.events`) and the processing of
one announced upload (:mod:`.processor`)."""
