"""index/onnx_query.py: the ONNX export embeds questions exactly as sentence-transformers does."""

from __future__ import annotations

import numpy as np

from index.onnx_query import OnnxQueryEncoder, export_query_encoder, load_or_export


def test_export_matches_sentence_transformers(tmp_path, embedder):
    encoder = export_query_encoder(embedder, tmp_path / "onnx")
    texts = ["Who is 王中民?", "wher will idsea be locted", "What did Sweden provide for Chang'e 6? " * 20]
    ours, reference = encoder.encode(texts), embedder.encode(texts)
    assert ours.shape == reference.shape == (3, embedder.dimension)
    assert np.all(np.sum(ours * reference, axis=1) > 0.9999)
    assert encoder.name == embedder.name
    assert "located" in encoder.vocabulary() and "##ing" not in encoder.vocabulary()


def test_cached_export_is_reused(tmp_path, embedder):
    class Lazy:  # what Bot passes: a name, and the model only if an export is needed
        name = embedder.name
        loads = 0

        def model(self):
            Lazy.loads += 1
            return embedder

    first = load_or_export(tmp_path, Lazy())
    second = load_or_export(tmp_path, Lazy())
    assert isinstance(first, OnnxQueryEncoder) and isinstance(second, OnnxQueryEncoder)
    assert Lazy.loads == 1  # the second came from the cache folder
    assert np.allclose(first.embed_query_vector("Hefei"), second.embed_query_vector("Hefei"))
