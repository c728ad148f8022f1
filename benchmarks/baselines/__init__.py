"""The design document's code, reproduced as written, to measure against."""
