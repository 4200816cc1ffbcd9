"""Knowledge stage: source files on disk → `Article` objects (the root of the pipeline)."""

from knowledge.loaders import ArticleFolderError, load_article, load_articles, load_folder
from knowledge.settings import Settings
from knowledge.types import Article, FolderLoad, SkippedFile

__all__ = [
    "Article",
    "ArticleFolderError",
    "FolderLoad",
    "Settings",
    "SkippedFile",
    "load_article",
    "load_articles",
    "load_folder",
]
