from bot.rank import FEATURES, MODELS_DIR, LinearModel, SentenceRanker


def coefficients(name: str) -> list[float]:
    return LinearModel.load(MODELS_DIR / name).coef.tolist()


def test_a_question_is_ranked_by_the_model_trained_on_its_language_or_nearest_it():
    by_language = {
        language: SentenceRanker.bundled(language).model.coef.tolist() for language in ("en", "zh", "fr", "de")
    }
    assert by_language["en"] == coefficients("ranker.json")
    assert by_language["zh"] == coefficients("ranker-zh.json")
    assert by_language["fr"] == by_language["de"] == coefficients("ranker-other.json")
    assert len({tuple(c) for c in by_language.values()}) == 3


def test_every_shipped_ranker_has_the_code_s_features():
    for path in MODELS_DIR.glob("ranker*.json"):
        assert LinearModel.load(path).names == FEATURES, path.name
