"""Knowledge stage: source articles on disk → `Article` objects (the root of the pipeline)."""

from knowledge.loaders import ArticleFolderError, load_article, load_articles
from knowledge.settings import Settings
from knowledge.types import Article

__all__ = ["Article", "ArticleFolderError", "Settings", "load_article", "load_articles"]
