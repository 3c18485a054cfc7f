"""`vireid gallery`: cross-modal search over a gallery that grows without end (docs/architecture.md, "Gallery").

A gallery holds the embeddings of person crops, each with its camera, modality, capture time and track, and
answers "who in the other modality looks like this person, on these cameras, in this time window". Two stores
sit behind one interface (`store.py`):
- `faiss_store`: one machine, no server. SQLite holds the crops and the journal; each modality is its own
  partition (`partition.py`): an append-only file of raw vectors and a FAISS index chosen by size
  (`index_choice.py`), exact up to a threshold, IVF with exact re-scoring above it;
- `milvus_store`: beyond one machine, through pymilvus's `MilvusClient` (milvus-lite for tests and the demo).
Everything else (ingest, query, eval) talks to the interface only. Queries and crops are embedded through the
runtime (`vireid_runtime.load_embedder`), and the gallery records the export it belongs to (`Fingerprint`), so
vectors from another model can never be mixed in. This package never imports torch.
"""
