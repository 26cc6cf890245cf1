"""The composition root: the list of areas, the app factory, the CLI root, the demo and the blob collector."""
