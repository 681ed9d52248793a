import pyarrow as pa

from service.api_models import SentenceRow, StoredSentence
from stance.batch import SENTENCE_SCHEMA
from stance.labels import LABELS
from stance.output import arrow_table
from stance.sentence_rows import PROBABILITY_COLUMNS, SCORE_COLUMNS, TRACK_COLUMNS, arrow_types
from stance.store_export import SENTENCE_SCHEMA as EXPORT_SCHEMA


def test_probability_columns_are_snake_case_one_per_label():
    assert PROBABILITY_COLUMNS == ("p_pro_membership", "p_conceding", "p_opposing", "p_neutral")
    assert len(PROBABILITY_COLUMNS) == len(LABELS)
    assert all("-" not in name for name in (*SCORE_COLUMNS, *TRACK_COLUMNS))


def test_every_writer_names_index_offsets_and_probabilities_alike():
    shared = ("sentence_index", "start", "end", "text", "label", "confidence", *PROBABILITY_COLUMNS)
    for names in (SCORE_COLUMNS, TRACK_COLUMNS, SENTENCE_SCHEMA.names, EXPORT_SCHEMA.names,
                  list(SentenceRow.model_fields), list(StoredSentence.model_fields)):
        assert set(shared) <= set(names), names
    # The batch engine's schema is a score row with where the sentence came from.
    assert [n for n in SENTENCE_SCHEMA.names if n in SCORE_COLUMNS] == list(SCORE_COLUMNS)
    assert set(SentenceRow.model_fields) == set(SCORE_COLUMNS)


def test_parquet_types_every_sentence_column_even_when_all_null():
    types = arrow_types()
    assert set(TRACK_COLUMNS) <= set(types)
    table = arrow_table([dict.fromkeys(TRACK_COLUMNS)])
    assert table.schema.field("start").type == pa.int64()
    assert table.schema.field("p_neutral").type == pa.float64()
    assert table.schema.field("published").type == pa.date32()
