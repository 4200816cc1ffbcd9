"""Index stage: articles → sentence-aware chunks with offsets → embeddings → Chroma."""
