"""The model card (``models/<name>/README.md``) and the comparison report, from metrics JSON."""

from __future__ import annotations

from pathlib import Path

from stance.labels import DEFAULT_SCHEMA, read_schema
from stance.metrics import format_metrics
from stance.model_dir import (
    CARD_FILE,
    COMPARISON_FILE,
    LABEL_MAP_FILE,
    RELIABILITY_PNG,
    REPORT_FILE,
    ModelDir,
)

SPLIT_TITLES = {
    "validation": "Authored sentence validation split",
    "article_validation": "Authored article validation split (held-out articles; selection and calibration)",
    "test": "Authored sentence test split",
    "article_test": "Authored article test split (held-out articles)",
    "seed": "Seed articles (five real articles, never trained on)",
}


def _cell(result: dict, split: str, key: str = "macro_f1", fmt: str = ".3f") -> str:
    value = result.get(split, {}).get(key)
    return "—" if value is None else format(value, fmt)


def comparison_table(comparison: dict) -> str:
    lines = [
        "| approach | article validation macro-F1 | article test macro-F1 "
        "| article test min class F1 | article test ECE | article test dominant stance right "
        "| sentence test macro-F1 "
        "| seed articles macro-F1 | seed ECE | fit time | sentences/s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, result in comparison["approaches"].items():
        article = result.get("article_test", {})
        ci = article.get("macro_f1_ci95")
        interval = f" ({ci[0]:.3f}–{ci[1]:.3f})" if ci else ""
        minimum = min(v["f1"] for v in article["per_class"].values()) if article else float("nan")
        dominant = (f"{article['dominant_right']}/{article['articles']} ({article['dominant_accuracy']:.0%})"
                    if "dominant_accuracy" in article else "—")
        lines.append(
            f"| {name}{' (teacher; reported, never selected)' if result.get('reported_only') else ''} "
            f"| {_cell(result, 'article_validation')} | {_cell(result, 'article_test')} "
            f"{interval} | {minimum:.3f} | {_cell(result, 'article_test', 'ece')} "
            f"| {dominant} "
            f"| {_cell(result, 'test')} | {_cell(result, 'seed')} | {_cell(result, 'seed', 'ece')} "
            f"| {result['fit_seconds']:.0f} s | {result['sentences_per_second']:.0f} |"
        )
    lines.append("")
    lines.append(f"Selected by {comparison['selected_by']} macro-F1 (to three decimals; a tie goes to the "
                 f"lower ECE there): **{comparison['selected']}**.")
    return "\n".join(lines)


def write_comparison(out_dir: Path, comparison: dict) -> Path:
    parts = ["# Training report: approaches compared", "",
             f"Every approach is fitted on the same {comparison['train_sentences']} sentences: the "
             "authored sentences' training split and the authored articles' training split. The seed "
             "articles are never trained on here, so all five real articles are held out at once "
             "(stricter than leave-one-article-out). Held-out *articles* (`article_validation`) pick "
             "the approach and fit each fine-tuned model's temperature; the test splits are reported "
             "only. ECE: expected calibration error, 10 equal-width bins. Dominant stance: the "
             "article's most frequent non-neutral label (stance score's rule), predicted against gold. "
             "Sentences/s: in-process prediction on CPU (torch fp32 for the fine-tuned models; the "
             "served int8 path is measured in BENCHMARKS.md). Fit time and sentences/s are wall-clock "
             "on the machine that ran the report, with whatever else it was running: compare them "
             "within one report only.", "",
             comparison_table(comparison), ""]
    if any(result.get("reported_only") for result in comparison["approaches"].values()):
        parts += ["The teacher row is fitted by `training/teacher.py` on the same rows (its own model "
                  "directory, `models/mpnet-stance/`); its fit time is that run's. It is reported, never "
                  "selected: it retrains in about four times the default's budget and serves several "
                  "times slower (training/README.md).", ""]
    for name, result in comparison["approaches"].items():
        parts += [f"## {name}", ""]
        if "temperature" in result:
            parts += [f"Temperature {result['temperature']:.3f} (fitted on held-out articles).", ""]
        for split in ("article_test", "test", "seed"):
            if split in result:
                parts += [format_metrics(result[split], SPLIT_TITLES[split]), ""]
    return ModelDir(out_dir).write_text(REPORT_FILE, "\n".join(parts))


def write_reliability_png(out_dir: Path, metrics: dict, title: str) -> Path:
    """The reliability diagram: accuracy against mean confidence per bin, bar width ~ sentences."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bins = [row for row in metrics["reliability"] if row["n"]]
    total = sum(row["n"] for row in bins)
    fig, ax = plt.subplots(figsize=(4.2, 4.2), dpi=100)
    ax.plot([0, 1], [0, 1], color="#999999", linestyle="--", linewidth=1, label="perfect calibration")
    ax.bar([(row["low"] + row["high"]) / 2 for row in bins], [row["accuracy"] for row in bins],
           width=[0.1 * max(0.15, (row["n"] / total) ** 0.5) for row in bins], color="#3b6ea8",
           label="accuracy per bin (width ~ sentences)")
    ax.plot([row["confidence"] for row in bins], [row["accuracy"] for row in bins], "o", color="#d9822b",
            markersize=4, label="mean confidence, accuracy")
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence", ylabel="accuracy",
           title=f"{title}: ECE {metrics['ece']:.3f}")
    ax.legend(loc="upper left", fontsize=7, frameon=False)
    fig.tight_layout()
    path = ModelDir(out_dir) / RELIABILITY_PNG
    # No date or software version in the file: the same metrics give the same bytes.
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
    return path


def reliability_table(metrics: dict) -> list[str]:
    lines = ["| confidence bin | sentences | mean confidence | accuracy |", "|---|---:|---:|---:|"]
    for row in metrics.get("reliability", []):
        if row["n"]:
            lines.append(f"| {row['low']:.1f}–{row['high']:.1f} | {row['n']} | {row['confidence']:.3f} "
                         f"| {row['accuracy']:.3f} |")
    return lines


def _fast_path_lines(fast: dict | None) -> list[str]:
    if not fast or "int8_macro_f1" not in fast:
        return []
    choice = "the default on CPU" if fast.get("default_on_cpu") else "not used by default"
    return [f"- Fast CPU path: `{fast['file']}` ({fast['quantisation']}) is {choice}: "
            f"{fast['split']} macro-F1 "
            f"{fast['int8_macro_f1']:.3f} vs fp32 {fast['fp32_macro_f1']:.3f}, "
            f"{fast['agreement']:.1%} of predictions agree (`--backend torch` forces fp32)."]


def _user_label_lines(user: dict | None) -> list[str]:
    """The card's section on the user's reviewed sentences: before and after on held-out articles."""
    if not user:
        return []
    lines = ["### The user's reviewed sentences", "",
             f"Trained on {user['train_sentences']} reviewed sentences of {user['train_articles']} "
             f"article(s) from {', '.join(user['files'])} (SHA-256 {user['sha256'][:12]}); "
             f"{user['holdout_sentences']} sentences of {user['holdout_articles']} other article(s) "
             "held out, never trained on"
             + (f" ({user['holdout_seen_in_training']} held-out sentence(s) also in the training "
                "data left out)" if user.get("holdout_seen_in_training") else "") + ".", ""]
    if "after" not in user:
        return lines + ["No held-out article: nothing to compare before and after.", ""]
    rows = [("before: " + user["before_model"], user["before"])] if "before" in user else []
    rows.append(("after: this model", user["after"]))
    lines += ["| model | n | macro-F1 (95% CI) | accuracy |", "|---|---:|---:|---:|"]
    for name, result in rows:
        ci = result.get("macro_f1_ci95")
        interval = f" ({ci[0]:.3f}–{ci[1]:.3f})" if ci else ""
        lines.append(f"| {name} | {result['n']} | {result['macro_f1']:.3f}{interval} "
                     f"| {result['accuracy']:.3f} |")
    return lines + ["", format_metrics(user["after"], "This model on the held-out reviewed articles"), ""]


def _stale_note(comparison: dict, data: dict) -> str:
    """Said when the report was fitted on other data than this model: the data changed since."""
    expected = data.get("train_sentences", 0) - data.get("seed_sentences", 0)
    if not data or comparison.get("train_sentences") in (None, expected):
        return ""
    return (f" **The report predates this model's data**: its approaches were fitted on "
            f"{comparison['train_sentences']} sentences, this model's training data without the seeds "
            f"has {expected}; rerun `make report` to compare on it.")


def write_card(out_dir: Path, metrics: dict) -> Path:
    """The model card from metrics.json (and comparison.json when the report has been run).

    It holds nothing about the machine or the day of the run (those are in run.json), so retraining
    the same data and settings on the same kind of machine rewrites the committed card unchanged.
    """
    data, config = metrics["data"], metrics["config"]
    directory = ModelDir(out_dir)
    comparison = directory.read_json(COMPARISON_FILE) if directory.has(COMPARISON_FILE) else None
    if comparison is not None and "selected_by" not in comparison:
        comparison = None  # a report in an older layout: `make report` writes it anew
    article_test = metrics.get("article_test")
    # The model's own labels and target; a directory without a label map yet gets today's.
    schema = read_schema(out_dir) if (out_dir / LABEL_MAP_FILE).is_file() else DEFAULT_SCHEMA
    parts = [
        f"# {metrics['model']}",
        "",
        f"Sentence-level stance toward **{schema.target}**: "
        + ", ".join(f"`{label}`" for label in schema.labels) + " (definitions: `seeds/LABELLING.md`).",
        "",
        "## Data",
        "",
        f"- Training: {data['train_sentences']} sentences {data['train_per_label']}: the authored "
        f"articles' training split ({data.get('train_articles', 0)} whole news articles written in real "
        "outlets' registers, every sentence labelled, about half of them about other matters than "
        f"{schema.target}), the authored sentences' training split"
        + (", and every hand-labelled sentence of the five seed articles."
           if config.get("include_seed_articles", True) else "; the five seed articles are held out."),
        f"- Validation: {data.get('article_validation_sentences', 0)} sentences of "
        f"{data.get('article_validation_articles', 0)} held-out articles (model selection and the "
        f"temperature) and {data['validation_sentences']} authored sentences.",
        f"- Test: {data.get('article_test_sentences', 0)} sentences of "
        f"{data.get('article_test_articles', 0)} "
        f"held-out articles and {data['test_sentences']} authored sentences that no training or "
        "selection touches. Articles are split by article, never by sentence.",
        "",
        "## Training set-up",
        "",
        f"- Base: {metrics['base_model']}, " + _tuned_layers(config) + " with a linear classification head.",
        "- Input: " + ("the sentence, then `[SEP]` and the sentence before it in its article (page "
                       "furniture skipped), so pronouns, quotes that run over sentences and reported "
                       "speech are read in context." if config.get("context") == "previous"
                       else "the sentence alone."),
        f"- {config['epochs']} epochs, batch {config['batch_size']}, AdamW lr {config['learning_rate']}, "
        f"weight decay {config['weight_decay']}, linear warm-up {config['warmup_ratio']:.0%} then "
        f"decay, class-weighted cross-entropy (label smoothing {config.get('label_smoothing', 0.0)}), "
        f"max {config['max_length']} tokens, seed {config['seed']}. "
        f"Reproduce: {metrics.get('reproduce', '`make train`')}.",
        *_swap_lines(config),
        f"- Calibration: logits divided by temperature {metrics.get('temperature', 1.0):.3f}, fitted on "
        f"the {metrics.get('calibrated_on', 'validation')} split (negative log-likelihood).",
        *_fast_path_lines(metrics.get("fast")),
        "",
        "## Metrics",
        "",
    ]
    if article_test:
        parts += [format_metrics(article_test, SPLIT_TITLES["article_test"], schema), ""]
        if "dominant_accuracy" in article_test:
            parts += [f"Dominant stance right for {article_test['dominant_right']} of "
                      f"{article_test['articles']} held-out articles "
                      f"({article_test['dominant_accuracy']:.0%}).",
                      ""]
        write_reliability_png(out_dir, article_test, "Held-out test articles")
        parts += ["Reliability on the held-out test articles (a calibrated model has accuracy close "
                  "to confidence in every bin):", "", f"![Reliability diagram]({RELIABILITY_PNG})", "",
                  *reliability_table(article_test), ""]
    parts += _user_label_lines(metrics.get("user_labels"))
    parts += [format_metrics(metrics["test"], SPLIT_TITLES["test"], schema), ""]
    if metrics.get("article_validation"):
        parts += [format_metrics(metrics["article_validation"], SPLIT_TITLES["article_validation"],
                                 schema), ""]
    if comparison:
        parts += ["## Compared approaches", "",
                  "From `make report` (`stance train --compare-only`); details in `REPORT.md`."
                  + _stale_note(comparison, metrics.get("data", {})), "",
                  comparison_table(comparison), ""]
    parts += [
        "## Intended use",
        "",
        f"Tracking who takes which stance on {schema.target} in English news, sentence "
        "by sentence, aggregated per article, actor and period by `stance track`. Read the "
        "evidence sentences before drawing conclusions; labels are signals, not verdicts. "
        "`--min-confidence` leaves low-confidence sentences out of summaries and timelines.",
        "",
        "## Limitations",
        "",
        "- Trained on five real articles and text written for this project in the registers of real "
        "outlets: held-out authored articles are the closest guide here, and real news from other "
        "outlets and years will still score lower.",
        f"- One target only ({schema.target}); the model knows nothing of other targets.",
        "- Context is one sentence back: a stance carried by a speaker named three paragraphs "
        "earlier can be missed.",
        f"- English only; 6-layer MiniLM with a {config['max_length']}-token window (sentence and context "
        "together; the longer of the two is cut first).",
        "",
    ]
    return directory.write_text(CARD_FILE, "\n".join(parts))


def _swap_lines(config: dict) -> list[str]:
    share = config.get("speaker_swap", 0.0)
    if not share:
        return []
    return [f"- Speaker swap: in {share:.0%} of the training rows that name people of Ukraine, Russia "
            "or NATO, those people are replaced by another side's, label kept (who speaks never "
            "decides the label, LABELLING rule 13; `stance.augment`)."]


def _tuned_layers(config: dict) -> str:
    frozen = config.get("freeze_layers", 0)
    text = (f"fine-tuning the encoder above its lowest {frozen} layers (those kept as pretrained)"
            if frozen else "fine-tuning every encoder layer")
    return text + (" (word embeddings kept frozen)" if config.get("freeze_embeddings") else "")
