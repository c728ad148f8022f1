"""The code of the design document (``docs/design-document.fr.rst``), reproduced as written,
to measure against."""
