"""`vireid serve`: the gallery as a search service for operators, and the page they use it from.

An ASGI application on FastAPI (docs/architecture.md, "Serving search"). Routes parse and answer; what a search
means (filters, the hour window, paging, one crop per track) is decided in `service.py` and `paging.py`, and the
gallery is reached only through `vireid.gallery.store.GalleryStore`, so FAISS, milvus-lite and a Milvus server
all serve. Queries are embedded through the runtime, loaded once, with concurrent requests merged into one
engine call (`batching.py`).
"""
