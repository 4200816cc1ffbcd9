"""Index stage: articles → sentence-aware chunks and sentences with exact offsets → embeddings →
the snapshot (`snapshot.py`: sentences and their vectors, BM25, structure, spellings) and the chunk
vectors' store (`store.py`)."""
