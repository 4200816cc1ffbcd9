"""Index stage: articles → sentence-aware chunks and sentences with exact offsets → embeddings →
the snapshot (`snapshot.py`: sentences and their vectors, BM25, structure, spellings, and the chunk
vectors unless a Chroma server holds them: `store.py`, with the `DenseSearch` over either)."""
