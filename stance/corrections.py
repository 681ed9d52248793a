"""Human labels: reading Label Studio exports and filled-in CSVs, and using the labels they hold.

**Import.** Every annotation is checked before it counts: the label must be one of the four, the
actor (optional) one of the five, the task must carry its article id, offsets and text hash, the
hash must still be the hash of the task's text, and — given the exported tasks and the articles —
the task must be one that was exported and its sentence must still read the same in the article.
An annotation that fails is reported with its reason and left out; nothing is applied silently.

**Disagreement.** An annotation marked *ground truth* in Label Studio, or one by the
``adjudicator``, decides the sentence. Otherwise the label most annotators chose wins; a tie is
not broken by guessing: the sentence is written with ``label: null`` and ``agreement: "tie"``,
reported, and neither applied nor trained on until someone adjudicates it. The actor is resolved
the same way on its own (a tie leaves it null while the label still counts).

**The label file** (JSONL, one row per sentence) is keyed by ``article_id``, ``start``, ``end``
and ``text_sha256``. `stance score`/`track` ``--labels`` put a human label in place of the model's
for the sentence at those offsets only while its text has that hash (:class:`HumanLabels`);
`stance train --extra-labels` trains on the rows with a label.
"""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from stance.jsonl import jsonl_rows
from stance.labels import ACTORS, LABELS
from stance.review import (
    ACTOR_CONTROL,
    LABEL_CONTROL,
    RANDOM,
    text_sha256,
)

KEY_FIELDS = ("article_id", "start", "end", "text_sha256")
TIE = "tie"


class CorrectionsError(ValueError):
    """A file that cannot be read as an export or a label file at all (not one bad row)."""


@dataclass
class Vote:
    """One annotator's answer for one task."""

    key: tuple[str, int, int]
    data: dict
    annotator: str
    label: str
    actor: str | None
    where: str
    decisive: bool = False  # Label Studio's ground_truth, or the adjudicator's


@dataclass
class Rejected:
    where: str
    reason: str


@dataclass
class Imported:
    votes: list[Vote] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    # Rows of a CSV (or tasks of an export) nobody has labelled yet: counted, not errors.
    unlabelled: int = 0


def _annotator(annotation: dict) -> str:
    who = annotation.get("completed_by")
    if isinstance(who, dict):
        who = who.get("email") or who.get("id")
    return str(who) if who not in (None, "") else f"annotation-{annotation.get('id', '?')}"


def _choices(result: list, control: str) -> list[str]:
    values = []
    for item in result or ():
        if isinstance(item, dict) and item.get("from_name") == control:
            values += list((item.get("value") or {}).get("choices") or ())
    return values


def _read_json(path: Path) -> list:
    try:
        items = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CorrectionsError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CorrectionsError(f"{path}: cannot read it: {exc}") from None
    except ValueError as exc:
        raise CorrectionsError(f"{path}: not valid JSON: {getattr(exc, 'msg', exc)}") from None
    if not isinstance(items, list):
        raise CorrectionsError(f"{path}: expected a JSON list of tasks (Label Studio's JSON export)")
    return items


def _read_csv(path: Path) -> list[dict]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except FileNotFoundError:
        raise CorrectionsError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CorrectionsError(f"{path}: cannot read it as CSV: {exc}") from None
    if rows and "label" not in rows[0]:
        raise CorrectionsError(f"{path}: no 'label' column; fill in the CSV that `stance review "
                               "export --csv` wrote")
    return rows


def _answers(path: Path) -> Iterable[tuple[str, dict, str, list[str], list[str], bool]]:
    """(where, task data, annotator, labels, actors, ground truth) per annotation; ``labels``
    empty for a task nobody answered."""
    if path.suffix.lower() == ".csv":
        for number, row in enumerate(_read_csv(path), start=2):
            label, actor = (row.get("label") or "").strip(), (row.get("actor") or "").strip()
            who = (row.get("annotator") or "").strip() or path.stem
            yield f"{path}:{number}", row, who, [label] if label else [], [actor] if actor else [], False
        return
    for number, item in enumerate(_read_json(path), start=1):
        where = f"{path}: task {item.get('id', number) if isinstance(item, dict) else number}"
        if not isinstance(item, dict):
            yield where, {}, "?", ["?"], [], False
            continue
        if "annotations" not in item and LABEL_CONTROL in item:
            # Label Studio's JSON-MIN export: one flat object per annotation.
            label, actor = item.get(LABEL_CONTROL), item.get(ACTOR_CONTROL)
            labels = label if isinstance(label, list) else [label] if label else []
            actors = actor if isinstance(actor, list) else [actor] if actor else []
            yield where, item, str(item.get("annotator") or path.stem), labels, actors, False
            continue
        data = item.get("data") if isinstance(item.get("data"), dict) else {}
        done = [a for a in item.get("annotations") or () if isinstance(a, dict)
                and not a.get("was_cancelled")]
        if not done:
            yield where, data, "", [], [], False
        for annotation in done:
            result = annotation.get("result") or []
            yield (f"{where}, annotation {annotation.get('id', '?')}", data, _annotator(annotation),
                   _choices(result, LABEL_CONTROL), _choices(result, ACTOR_CONTROL),
                   bool(annotation.get("ground_truth")))


def _task_key(data: dict) -> tuple[tuple[str, int, int] | None, str | None]:
    """The task's (article id, start, end), or None and why it has none."""
    missing = [k for k in KEY_FIELDS if data.get(k) in (None, "")]
    if missing or not isinstance(data.get("text"), str):
        return None, (f"missing task: no {', '.join(missing or ['text'])} (export the tasks with "
                      "`stance review export`, and keep these columns)")
    try:
        return (str(data["article_id"]), int(data["start"]), int(data["end"])), None
    except (TypeError, ValueError):
        return None, f"missing task: offsets {data.get('start')!r}, {data.get('end')!r} are not numbers"


def read_answers(paths: Iterable[str], tasks: dict | None = None, articles: dict | None = None,
                 adjudicator: str | None = None) -> Imported:
    """Every annotation of ``paths`` (Label Studio JSON / JSON-MIN exports, filled-in CSVs),
    validated; ``tasks`` maps keys to the exported task data, ``articles`` ids to articles."""
    imported = Imported()
    for raw in paths:
        for where, data, who, labels, actors, truth in _answers(Path(raw)):
            if not labels and not actors:
                imported.unlabelled += 1
                continue
            key, why = _task_key(data)
            reason = why or _check_task(key, data, tasks, articles)
            if reason is None:
                reason = _check_choices(labels, actors)
            if reason:
                imported.rejected.append(Rejected(where, reason))
                continue
            task = tasks.get(key, data) if tasks else data
            imported.votes.append(Vote(key, {**data, **task}, who, labels[0],
                                       actors[0] if actors else None, where,
                                       truth or (adjudicator is not None and who == adjudicator)))
    return imported


def _check_task(key, data: dict, tasks: dict | None, articles: dict | None) -> str | None:
    digest = data["text_sha256"]
    if text_sha256(data["text"]) != digest:
        return "text hash mismatch: the task's text was edited after export"
    if tasks is not None:
        task = tasks.get(key)
        if task is None:
            return f"unknown task: {key[0]} [{key[1]}:{key[2]}] is not in the exported tasks"
        if task["text_sha256"] != digest:
            return "text hash mismatch: not the text of the exported task at these offsets"
    if articles is not None:
        article = articles.get(key[0])
        if article is None:
            return f"unknown task: article {key[0]!r} is not among the articles given"
        if text_sha256(article.text[key[1]:key[2]]) != digest:
            return (f"text hash mismatch: article {key[0]} changed since export; "
                    f"[{key[1]}:{key[2]}] now reads {article.text[key[1]:key[2]][:60]!r}")
    return None


def _check_choices(labels: list[str], actors: list[str]) -> str | None:
    if not labels:
        return "no label (an actor alone is not a correction)"
    if len(set(labels)) > 1 or len(set(actors)) > 1:
        return f"more than one choice: {labels + actors}"
    if labels[0] not in LABELS:
        return f"unknown label {labels[0]!r}; expected one of {', '.join(LABELS)}"
    if actors and actors[0] not in ACTORS:
        return f"unknown actor {actors[0]!r}; expected one of {', '.join(ACTORS)}"
    return None


def _decide(votes: list[Vote], attribute: str) -> tuple[str | None, str]:
    """The value and how it was reached: ``unanimous``, ``majority``, ``adjudicated`` or ``tie``."""
    values = [getattr(v, attribute) for v in votes if getattr(v, attribute) is not None]
    if not values:
        return None, "none"
    decisive = [getattr(v, attribute) for v in votes if v.decisive and getattr(v, attribute)]
    if decisive and len(set(values)) > 1:
        counts = Counter(decisive).most_common()
        if len(counts) == 1 or counts[0][1] > counts[1][1]:
            return counts[0][0], "adjudicated"
    counts = Counter(values).most_common()
    if len(counts) == 1:
        return counts[0][0], "unanimous"
    if counts[0][1] > counts[1][1]:
        return counts[0][0], "majority"
    return None, TIE


def resolve(votes: list[Vote]) -> tuple[list[dict], list[str]]:
    """One label row per sentence, and a warning per annotator who answered a task twice."""
    warnings = []
    by_task: dict[tuple, dict[str, Vote]] = defaultdict(dict)
    for vote in votes:
        if vote.annotator in by_task[vote.key]:
            warnings.append(f"{vote.where}: {vote.annotator} answered this task before; the later "
                            "answer counts")
        by_task[vote.key][vote.annotator] = vote
    rows = []
    for key in sorted(by_task):
        members = list(by_task[key].values())
        data = members[-1].data
        label, agreement = _decide(members, "label")
        actor, actor_agreement = _decide(members, "actor")
        rows.append({
            "article_id": key[0], "start": key[1], "end": key[2],
            "text_sha256": data["text_sha256"], "text": data["text"],
            "context": data.get("context") or "",
            "label": label, "actor": actor, "agreement": agreement,
            "actor_agreement": actor_agreement,
            "annotators": [{"annotator": v.annotator, "label": v.label, "actor": v.actor}
                           for v in members],
            "sample": data.get("sample") or None,
            "model_version": data.get("model_version") or None,
            "model_label": data.get("model_label") or None,
            "model_actor": data.get("model_actor") or None,
            "published": data.get("published") or None,
            "source": data.get("source") or None,
        })
    return rows, warnings


def read_tasks(path: str) -> dict[tuple[str, int, int], dict]:
    """The exported tasks (``stance review export -o``) by (article id, start, end)."""
    tasks = {}
    for number, item in enumerate(_read_json(Path(path)), start=1):
        data = item.get("data") if isinstance(item, dict) else None
        key, why = _task_key(data or {})
        if key is None:
            raise CorrectionsError(f"{path}: task {number} is not one `stance review export` wrote: {why}")
        tasks[key] = data
    return tasks


def read_labels(paths: Iterable[str]) -> list[dict]:
    """The rows of label files (``stance review import -o``); a later file's row for the same
    sentence replaces an earlier one. Rows without a label (ties) are kept with ``label`` None."""
    by_key: dict[tuple, dict] = {}
    for path in paths:
        for number, row in jsonl_rows(path, CorrectionsError):
            key, why = _task_key(row if isinstance(row, dict) else {})
            if key is None:
                raise CorrectionsError(f"{path}:{number}: not a label row ({why})")
            if row.get("label") is not None and row["label"] not in LABELS:
                raise CorrectionsError(f"{path}:{number}: unknown label {row['label']!r}")
            if row.get("actor") is not None and row["actor"] not in ACTORS:
                raise CorrectionsError(f"{path}:{number}: unknown actor {row['actor']!r}")
            by_key[key] = row
    return list(by_key.values())


class HumanLabels:
    """Human labels by sentence, for scoring: :meth:`get` answers only while the text matches.

    ``stale`` lists the labels whose sentence now reads differently (the article changed after
    review); :meth:`unused` those that matched no sentence of the articles scored.
    """

    def __init__(self, rows: Iterable[dict]):
        self.rows = {(r["article_id"], int(r["start"]), int(r["end"])): r for r in rows
                     if r.get("label") is not None}
        self.applied: set[tuple] = set()
        self.stale: list[str] = []
        self._stale_keys: set[tuple] = set()

    @classmethod
    def from_files(cls, paths: Iterable[str]) -> HumanLabels:
        return cls(read_labels(paths))

    def __len__(self) -> int:
        return len(self.rows)

    def get(self, article_id: str, start: int, end: int, text: str) -> dict | None:
        key = (article_id, start, end)
        row = self.rows.get(key)
        if row is None:
            return None
        if text_sha256(text) != row["text_sha256"]:
            if key in self._stale_keys:
                return None
            self._stale_keys.add(key)
            self.stale.append(f"{article_id} [{start}:{end}]: the sentence changed since it was "
                              f"labelled ({row['text'][:50]!r} → {text[:50]!r}); the model's label kept")
            return None
        self.applied.add(key)
        return row

    def unused(self) -> list[tuple]:
        return sorted(set(self.rows) - self.applied)


def agreement_report(rows: list[dict]) -> dict:
    """Annotator agreement (label and actor) and the model's accuracy on the random share."""
    from stance.agreement import cohen_kappa, krippendorff_alpha

    annotators = sorted({a["annotator"] for r in rows for a in r["annotators"]})
    report: dict = {"sentences": len(rows), "annotators": annotators,
                    "labelled": sum(r["label"] is not None for r in rows),
                    "ties": sum(r["agreement"] == TIE for r in rows),
                    "by_agreement": dict(Counter(r["agreement"] for r in rows))}
    for attribute in ("label", "actor"):
        units = [[a[attribute] for a in r["annotators"] if a[attribute] is not None] for r in rows]
        shared = [u for u in units if len(u) >= 2]
        entry = {"items_with_two_or_more": len(shared),
                 "krippendorff_alpha": krippendorff_alpha(shared)}
        if len(annotators) == 2:
            pairs = [(by[annotators[0]], by[annotators[1]]) for r in rows
                     for by in [{a["annotator"]: a[attribute] for a in r["annotators"]}]
                     if by.get(annotators[0]) is not None and by.get(annotators[1]) is not None]
            entry["cohen_kappa"] = cohen_kappa([p[0] for p in pairs], [p[1] for p in pairs])
        report[f"{attribute}_agreement"] = entry
    report["model_on_random_share"] = model_accuracy([r for r in rows if r.get("sample") == RANDOM])
    report["model_on_all_reviewed"] = model_accuracy(rows)
    return report


def model_accuracy(rows: list[dict], bootstrap: int = 1000) -> dict | None:
    """The model's accuracy (Wilson 95% interval) and macro-F1 (bootstrap 95% interval) against
    the resolved human labels, and its actor accuracy where both have an actor."""
    from stance.metrics import evaluate
    from stance.timeline import wilson

    scored = [r for r in rows if r["label"] is not None and r.get("model_label") in LABELS]
    if not scored:
        return None
    metrics = evaluate([r["label"] for r in scored], [r["model_label"] for r in scored],
                       bootstrap=bootstrap)
    right = sum(r["label"] == r["model_label"] for r in scored)
    result = {"n": len(scored), "accuracy": metrics["accuracy"],
              "accuracy_ci95": list(wilson(right, len(scored))), "macro_f1": metrics["macro_f1"],
              "macro_f1_ci95": metrics["macro_f1_ci95"], "per_class": metrics["per_class"],
              "confusion": metrics["confusion"]}
    actors = [r for r in scored if r.get("actor") and r.get("model_actor")]
    if actors:
        hits = sum(r["actor"] == r["model_actor"] for r in actors)
        result["actor"] = {"n": len(actors), "accuracy": hits / len(actors),
                           "accuracy_ci95": list(wilson(hits, len(actors)))}
    return result


def _interval(ci) -> str:
    return f" (95% CI {ci[0]:.3f}–{ci[1]:.3f})" if ci else ""


def format_report(report: dict) -> str:
    lines = [f"{report['sentences']} sentence(s) reviewed by {len(report['annotators'])} annotator(s) "
             f"({', '.join(report['annotators'])}); {report['labelled']} with a label, "
             f"{report['ties']} tie(s) left unlabelled; {report['by_agreement']}"]
    for attribute in ("label", "actor"):
        entry = report[f"{attribute}_agreement"]
        parts = [f"{attribute} agreement on {entry['items_with_two_or_more']} sentence(s) with "
                 "two or more annotators:"]
        if "cohen_kappa" in entry:
            parts.append("Cohen's kappa " + ("n/a" if entry["cohen_kappa"] is None
                                             else f"{entry['cohen_kappa']:.3f}"))
        parts.append("Krippendorff's alpha " + ("n/a" if entry["krippendorff_alpha"] is None
                                                else f"{entry['krippendorff_alpha']:.3f}"))
        lines.append(" ".join(parts))
    for name, title in (("model_on_random_share", "model on the random share (unbiased)"),
                        ("model_on_all_reviewed", "model on everything reviewed (biased toward "
                                                  "uncertain sentences)")):
        result = report[name]
        if result is None:
            lines.append(f"{title}: no labelled sentences")
            continue
        line = (f"{title}: n = {result['n']}, accuracy {result['accuracy']:.3f}"
                f"{_interval(result['accuracy_ci95'])}, macro-F1 {result['macro_f1']:.3f}"
                f"{_interval(result['macro_f1_ci95'])}")
        if "actor" in result:
            actor = result["actor"]
            line += (f"; actor accuracy {actor['accuracy']:.3f}{_interval(actor['accuracy_ci95'])} "
                     f"on {actor['n']}")
        lines.append(line)
    return "\n".join(lines)


def write_labels(rows: list[dict], path: str) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return out
