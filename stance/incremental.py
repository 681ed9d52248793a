"""``stance score --db``: score the store's articles that the current model has not scored yet.

Work goes in batches of whole articles (about :data:`stance.scoring.PREDICT_CHUNK` sentences,
the same prediction batches as scoring files); each batch's predictions and its "scored" marks
are one transaction. A run killed at any moment loses at most the batch in flight, and the next
run picks up after the last committed batch with the same rows an uninterrupted run writes.
Only one batch is ever held in memory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from stance import scoring
from stance.actors import ActorAttributor
from stance.labels import LABELS, column
from stance.model_dir import INT8_FILE, VERSION_DIGITS, WEIGHTS_FILE, file_digest
from stance.store import PROBABILITY_COLUMNS, Store

# Article ids fetched per look-up of unscored work.
_LOOKUP = 1000


def model_version(classifier) -> str:
    """``name:backend:sha256[:12]`` of the weights the classifier runs, so a retrained model,
    or the int8 twin, is a different version whose predictions are kept apart."""
    explicit = getattr(classifier, "version", None)
    if explicit:
        return str(explicit)
    name, backend = getattr(classifier, "name", "model"), getattr(classifier, "backend", "unknown")
    path = getattr(classifier, "path", None)
    weights = Path(path) / {"onnx-int8": INT8_FILE}.get(backend, WEIGHTS_FILE) if path else None
    if weights is None or not weights.is_file():
        return f"{name}:{backend}"
    return f"{name}:{backend}:{file_digest(weights)[:VERSION_DIGITS]}"


@dataclass
class ScoreRun:
    version: str
    articles: int = 0
    sentences: int = 0
    batches: int = 0


def _detail(holder) -> str | None:
    """The attributor's ``detail`` when it has one (a string, or JSON for structured detail)."""
    detail = getattr(holder, "detail", None)
    if detail is None or isinstance(detail, str):
        return detail
    return json.dumps(detail, ensure_ascii=False, default=str)


def _batch_table(version: str, ids: list[int], sentences: dict, probabilities: list, holders: list):
    import pyarrow as pa

    columns: dict[str, list] = {name: [] for name in (
        "article_id", "sentence_index", "model_version", "label", "confidence", *PROBABILITY_COLUMNS,
        "furniture", "actor", "actor_surface", "actor_rule", "actor_detail")}
    for article_id, article_probs, article_holders in zip(ids, probabilities, holders, strict=True):
        for (index, _text, furniture), p, holder in zip(sentences[article_id], article_probs,
                                                         article_holders, strict=True):
            label = max(p, key=p.get)
            columns["article_id"].append(article_id)
            columns["sentence_index"].append(index)
            columns["model_version"].append(version)
            columns["label"].append(label)
            columns["confidence"].append(p[label])
            for name in LABELS:
                columns[f"p_{column(name)}"].append(p[name])
            columns["furniture"].append(furniture)
            columns["actor"].append(holder.actor)
            columns["actor_surface"].append(holder.surface)
            columns["actor_rule"].append(holder.rule)
            columns["actor_detail"].append(_detail(holder))
    types = {"article_id": pa.int64(), "sentence_index": pa.int32(), "confidence": pa.float64(),
             "furniture": pa.bool_(), **dict.fromkeys(PROBABILITY_COLUMNS, pa.float64())}
    return pa.table({name: pa.array(values, types.get(name, pa.string()))
                     for name, values in columns.items()})


def _register(store: Store, classifier) -> str:
    version = model_version(classifier)
    store.register_model(version, getattr(classifier, "name", None),
                         getattr(classifier, "backend", None),
                         str(getattr(classifier, "path", "") or "") or None)
    return version


def _score_batch(store: Store, classifier, version: str, chosen: list[int], batch_size: int,
                 attributor) -> None:
    """Predict, attribute and commit the articles ``chosen`` (one transaction)."""
    sentences = store.sentences_of(chosen)
    groups = [([s[1] for s in sentences[i]], [s[2] for s in sentences[i]]) for i in chosen]
    probabilities = scoring.article_probabilities(classifier, groups, batch_size)
    published = store.published_of(chosen)
    # The learned actor decision reads each sentence's label, as `stance track` gives it.
    holders = [attributor.attribute(texts, furniture, [max(p, key=p.get) for p in probs],
                                    published.get(article_id))
               for article_id, (texts, furniture), probs in zip(chosen, groups, probabilities,
                                                                strict=True)]
    humans = store.human_labels_of(chosen)
    corrected = []
    for article_id, probs, article_holders in zip(chosen, probabilities, holders, strict=True):
        if article_id in humans:
            stored = [(max(p, key=p.get), *_attribution(h)) for p, h in zip(probs, article_holders,
                                                                          strict=True)]
            corrected += human_attributions(attributor, version, article_id, sentences[article_id],
                                            stored, published.get(article_id), humans[article_id])
    store.add_predictions(version, _batch_table(version, chosen, sentences, probabilities, holders),
                          chosen, corrected)


def _attribution(holder) -> tuple:
    return holder.actor, holder.surface, holder.rule, _detail(holder)


def human_attributions(attributor, version: str, article_id: int, sentences: list[tuple],
                       stored: list[tuple], published: str | None,
                       humans: dict[int, tuple[str, str | None]]) -> list[tuple]:
    """The ``human_attributions`` rows of one article and version: where the attribution that
    `stance track --labels` gives differs from the one stored with the prediction.

    ``sentences``: (index, text, furniture) in order; ``stored``: (label, actor, surface, rule,
    detail) of ``version``'s prediction for each; ``humans``: (label, actor) by sentence index.
    The attributor reads the human labels in place of the model's (its learned decision weighs
    each sentence's label, and a holder's country carries to the next sentences), and a
    reviewer's actor replaces the one it names, its surface, rule and country being the rules'.
    """
    labels = [humans[index][0] if index in humans else row[0]
              for (index, _text, _furniture), row in zip(sentences, stored, strict=True)]
    holders = attributor.attribute([s[1] for s in sentences], [s[2] for s in sentences], labels,
                                   published)
    rows = []
    for (index, _text, _furniture), row, holder in zip(sentences, stored, holders, strict=True):
        found = _attribution(holder)
        reviewer = humans.get(index, (None, None))[1]
        if reviewer is not None and reviewer != holder.actor:
            found = (reviewer, None, "human", None)
        if found != tuple(row[1:]):
            rows.append((article_id, index, version, *found))
    return rows


def refresh_attributions(store: Store, ids: list[int], attributor=None) -> int:
    """Recompute ``human_attributions`` of the articles ``ids`` for every version that scored
    them, after their human labels changed (inside the caller's transaction); the rows written."""
    attributor = attributor or ActorAttributor()
    humans = store.human_labels_of(ids)
    sentences = store.sentences_of(ids) if ids else {}
    published = store.published_of(ids) if ids else {}
    rows = []
    for article_id in ids:
        if article_id not in humans:  # its last label removed: nothing to correct
            continue
        predicted: dict[str, dict[int, tuple]] = {}
        for version, index, *row in store.db.execute(
                """SELECT model_version, sentence_index, label, actor, actor_surface, actor_rule,
                          actor_detail FROM predictions WHERE article_id = ?""",
                [article_id]).fetchall():
            predicted.setdefault(version, {})[index] = tuple(row)
        for version, by_index in predicted.items():
            stored = [by_index[index] for index, _text, _furniture in sentences[article_id]]
            rows += human_attributions(attributor, version, article_id, sentences[article_id],
                                       stored, published.get(article_id), humans[article_id])
    store.replace_attributions(ids, rows)
    return len(rows)


def _batches(candidates: list[tuple[int, str, int]]):
    """Whole articles up to the prediction chunk per batch; at least one, however long."""
    start = 0
    while start < len(candidates):
        chosen, budget = [], 0
        for article_id, _key, count in candidates[start:]:
            if chosen and budget + count > scoring.PREDICT_CHUNK:
                break
            chosen.append(article_id)
            budget += count
        start += len(chosen)
        yield chosen, budget


def score_store(store: Store, classifier, *, batch_size: int = 64, attributor=None, progress=None,
                on_batch=None) -> ScoreRun:
    """Score every article ``store`` holds that ``classifier``'s version has not scored."""
    version = _register(store, classifier)
    attributor = attributor or ActorAttributor()
    run = ScoreRun(version)
    after = 0
    while True:
        candidates = store.unscored(version, after, _LOOKUP)
        if not candidates:
            return run
        for chosen, budget in _batches(candidates):
            _score_batch(store, classifier, version, chosen, batch_size, attributor)
            run.articles += len(chosen)
            run.sentences += budget
            run.batches += 1
            if progress is not None:
                progress.update(len(chosen))
            if on_batch is not None:
                on_batch(run)
        after = candidates[-1][0]


def score_ids(store: Store, classifier, ids: list[int], *, batch_size: int = 64,
              attributor=None) -> ScoreRun:
    """Score the stored articles ``ids`` that ``classifier``'s version has not scored (the
    service's ``POST /articles``), in the same batches and transactions as :func:`score_store`."""
    version = _register(store, classifier)
    attributor = attributor or ActorAttributor()
    run = ScoreRun(version)
    if not ids:
        return run
    candidates = store.db.execute(
        """SELECT id, key, sentences FROM articles a WHERE list_contains(?, id) AND NOT EXISTS (
               SELECT 1 FROM scored_articles s WHERE s.article_id = a.id AND s.model_version = ?)
           ORDER BY id""", [list(ids), version]).fetchall()
    for chosen, budget in _batches(candidates):
        _score_batch(store, classifier, version, chosen, batch_size, attributor)
        run.articles += len(chosen)
        run.sentences += budget
        run.batches += 1
    return run
