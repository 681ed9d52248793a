"""The columns of a sentence row, defined once for every place that writes one.

`stance score` rows, the service's sentence rows (``/score_article``, ``/articles``), `stance track
--sentences` rows (from files or from the store) and the Parquet exports all name a sentence by
``sentence_index``, place it by its character offsets ``start`` and ``end`` in the article's text,
and carry the label, the calibrated confidence and one ``p_<label>`` per label (``p_pro_membership``:
snake_case, so pandas, SQL and Parquet tools take the names unquoted). Tracking rows add the date,
the period and the actor columns the store and the service use.
"""

from __future__ import annotations

from stance.labels import DEFAULT_SCHEMA

PROBABILITY_COLUMNS: tuple[str, ...] = DEFAULT_SCHEMA.probability_columns
# Where the sentence is, then what the model said of it.
POSITION: tuple[str, ...] = ("article_id", "sentence_index", "start", "end", "text")
PREDICTION: tuple[str, ...] = ("label", "confidence", *PROBABILITY_COLUMNS, "furniture", "uncertain")
# Who holds the stance (stance.actors): the coarse actor, the name found, the rule that found it,
# and the state or organisation.
ACTOR: tuple[str, ...] = ("actor", "actor_surface", "actor_rule", "actor_detail")

SCORE_COLUMNS: tuple[str, ...] = (*POSITION, *PREDICTION)
TRACK_COLUMNS: tuple[str, ...] = ("article_id", "published", "period", *POSITION[1:], *PREDICTION,
                                  *ACTOR)
# Present only when reviewed labels were given: ``human`` or ``model``.
LABEL_SOURCE = "label_source"


def arrow_types() -> dict:
    """The Arrow type of every sentence-row column (Parquet writers type columns by name)."""
    import pyarrow as pa

    return {
        "article_id": pa.string(), "published": pa.date32(), "period": pa.string(),
        "sentence_index": pa.int64(), "start": pa.int64(), "end": pa.int64(), "text": pa.string(),
        "label": pa.string(), "confidence": pa.float64(),
        **dict.fromkeys(PROBABILITY_COLUMNS, pa.float64()),
        "furniture": pa.bool_(), "uncertain": pa.bool_(),
        **dict.fromkeys(ACTOR, pa.string()), LABEL_SOURCE: pa.string(),
    }
