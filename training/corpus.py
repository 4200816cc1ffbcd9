"""A SQuAD-format file as a searchable corpus for training: its articles indexed with the bundled
model (cached in `.cache/training/` by the file's content), and each question with its gold spans as
offsets into our article text, so a candidate sentence can be labelled by whether it holds the answer.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from bot.retrieve import HybridRetriever, SearchIndex
from evals.squad import write_knowledge
from knowledge.settings import PROJECT_ROOT, Settings, go_offline

CACHE = PROJECT_ROOT / ".cache" / "training"
SHARED = PROJECT_ROOT.parent / "shared" / "data"
TRAIN_FILE = SHARED / "squad-v2-train-sample.json"
DEV_FILE = SHARED / "squad-v2-dev-sample.json"
# Held out from every model's training, for calibration (the abstention score and its threshold):
# one article with unanswerable questions and one without (the sample has two of the first kind).
CALIBRATION_ARTICLES = ("The Legend of Zelda: Twilight Princess", "Solar energy")


@dataclass(frozen=True)
class GoldQuestion:
    """One question with its gold answers as (start, end) offsets into its article's text."""

    id: str
    text: str
    article_id: str
    title: str
    spans: tuple[tuple[int, int], ...]
    answers: tuple[str, ...]

    @property
    def impossible(self) -> bool:
        """SQuAD 2.0: the paragraph does not answer it."""
        return not self.spans


@dataclass
class Corpus:
    """An indexed SQuAD file: what the answer path searches, plus its questions."""

    index: SearchIndex
    retriever: HybridRetriever
    encoder: object
    questions: list[GoldQuestion]


def open_corpus(path: Path = TRAIN_FILE, top_k: int = 5) -> Corpus:
    """Index a SQuAD file once (reused while the file is unchanged) and map its gold answers."""
    go_offline()
    from bot.service import Bot

    raw = Path(path).read_bytes()
    folder = CACHE / f"{Path(path).stem}-{hashlib.sha256(raw).hexdigest()[:12]}"
    # An article without a title (CMRC 2018's dev set has two) has no title line to find it by: left out.
    data = [a for a in json.loads(raw)["data"] if str(a["title"]).strip()]
    articles = {a["title"].replace("_", " "): "\n\n".join(p["context"].strip() for p in a["paragraphs"]) for a in data}
    shutil.rmtree(folder / "knowledge", ignore_errors=True)  # no article left over from an earlier version of this code
    write_knowledge(articles, folder / "knowledge")
    settings = Settings(knowledge_dir=folder / "knowledge", index_dir=folder / "index", progress=True, top_k=top_k)
    bot = Bot(settings=settings)
    bot.index(progress=True)
    loaded = bot.articles()
    index, retriever = bot._search, bot.retriever
    by_title = {a.title: a for a in loaded}
    questions = []
    for entry in data:
        article = by_title[entry["title"].replace("_", " ")]
        for paragraph in entry["paragraphs"]:
            context = paragraph["context"].strip()
            offset = article.text.find(context) - (len(paragraph["context"]) - len(paragraph["context"].lstrip()))
            for qa in paragraph["qas"]:
                answers = [] if qa.get("is_impossible") else qa["answers"]
                spans = tuple(
                    (offset + a["answer_start"], offset + a["answer_start"] + len(a["text"]))
                    for a in answers
                    if article.text[offset + a["answer_start"] :].startswith(a["text"])
                )
                questions.append(
                    GoldQuestion(
                        qa["id"], qa["question"], article.id, article.title, spans, tuple(a["text"] for a in answers)
                    )
                )
    return Corpus(index, retriever, bot.query_encoder, questions)


def holds_answer(row: int, question: GoldQuestion, index: SearchIndex) -> bool:
    """Does this sentence contain one of the question's gold answer spans?"""
    if index.sentences.article_ids[row] != question.article_id:
        return False
    start, end = index.sentences.spans[row]
    return any(start <= a and b <= end for a, b in question.spans)
