"""The service's routes, one module per resource; each parses the request, asks `GalleryService`, answers."""
