"""The model card (``models/<name>/README.md``) and the comparison report, from metrics JSON."""

from __future__ import annotations

import json
from pathlib import Path

from stance.metrics import format_metrics

COMPARISON_FILE = "comparison.json"


def comparison_table(comparison: dict) -> str:
    lines = [
        "| approach | validation macro-F1 | test macro-F1 (95% CI) | test F1avg | test min class F1 "
        "| LOAO macro-F1 | LOAO F1avg | LOAO time (5 fits) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, result in comparison["approaches"].items():
        test, loao = result["test"], result.get("loao")
        ci = test.get("macro_f1_ci95") or [float("nan")] * 2
        loao_cells = (f"{loao['macro_f1']:.3f} | {loao['f1avg_pro_opposing']:.3f} "
                      f"| {result['loao_seconds']:.0f} s" if loao else "not run | — | —")
        lines.append(
            f"| {name} | {result['validation']['macro_f1']:.3f} | {test['macro_f1']:.3f} "
            f"({ci[0]:.3f}–{ci[1]:.3f}) | {test['f1avg_pro_opposing']:.3f} "
            f"| {min(v['f1'] for v in test['per_class'].values()):.3f} | {loao_cells} |"
        )
    lines.append("")
    if any("loao" not in result for result in comparison["approaches"].values()):
        lines.append("`not run`: leave-one-article-out has not been run for that approach yet "
                     "(five more fine-tunes; `make report` runs them).")
        lines.append("")
    lines.append(f"Selected by validation macro-F1: **{comparison['selected_by_validation']}**.")
    return "\n".join(lines)


def write_comparison(out_dir: Path, comparison: dict) -> Path:
    parts = ["# Training report: approaches compared", "",
             "Every approach is fitted on the authored training split plus the seed sentences; "
             "the validation split picks the approach, the test split is reported only. "
             "LOAO = leave-one-article-out over the five seed articles (fold predictions pooled; "
             "macro-F1 over the classes present).", "", comparison_table(comparison), ""]
    for name, result in comparison["approaches"].items():
        parts += [f"## {name}", "", format_metrics(result["test"], "Authored test split"), ""]
        if "loao" in result:
            parts += [format_metrics(result["loao"], "Leave-one-article-out (seed articles)"), "",
                      "Per held-out article macro-F1: " + ", ".join(
                          f"{a} {v:.3f}" for a, v in result["loao"]["per_article_macro_f1"].items()),
                      ""]
        else:
            parts += ["Leave-one-article-out: not run yet.", ""]
    path = out_dir / "REPORT.md"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def _fast_path_lines(fast: dict | None) -> list[str]:
    if not fast or "int8_macro_f1" not in fast:
        return []
    choice = "the default on CPU" if fast.get("default_on_cpu") else "not used by default"
    return [f"- Fast CPU path: `{fast['file']}` ({fast['quantisation']}) is {choice}: test macro-F1 "
            f"{fast['int8_macro_f1']:.3f} vs fp32 {fast['fp32_macro_f1']:.3f}, "
            f"{fast['agreement']:.1%} of predictions agree (`--backend torch` forces fp32)."]


def write_card(out_dir: Path, metrics: dict) -> Path:
    data, config = metrics["data"], metrics["config"]
    comparison_path = out_dir / COMPARISON_FILE
    comparison = (json.loads(comparison_path.read_text(encoding="utf-8"))
                  if comparison_path.is_file() else None)
    parts = [
        f"# {metrics['model']}",
        "",
        "Sentence-level stance toward **Ukraine joining NATO**: `pro-membership`, `conceding`, "
        "`opposing`, `neutral` (definitions: `seeds/LABELLING.md`).",
        "",
        "## Data",
        "",
        f"- Training: {data['train_sentences']} sentences {data['train_per_label']} — the authored "
        "supplement's training split (news-register sentences written to cover every class, "
        "2008–2025, many actors) plus every hand-labelled sentence of the five seed articles.",
        f"- Validation: {data['validation_sentences']} authored sentences (model selection only).",
        f"- Test: {data['test_sentences']} authored sentences that no training or selection touches.",
        "",
        "## Training set-up",
        "",
        f"- Base: {metrics['base_model']}, fine-tuning every encoder layer"
        + (" (word embeddings kept frozen)" if config.get("freeze_embeddings") else "")
        + " with a linear classification head.",
        f"- {config['epochs']} epochs, batch {config['batch_size']}, AdamW lr {config['learning_rate']}, "
        f"weight decay {config['weight_decay']}, linear warm-up {config['warmup_ratio']:.0%} then "
        f"decay, class-weighted cross-entropy, max {config['max_length']} tokens, seed "
        f"{config['seed']}.",
        f"- Trained {metrics['trained_at']} on `{metrics['device']}` in {metrics['train_seconds']} s. "
        "Reproduce: `make train` (or `stance train`).",
        *_fast_path_lines(metrics.get("fast")),
        "",
        "## Metrics",
        "",
        format_metrics(metrics["test"], "Authored test split"),
        "",
        format_metrics(metrics["validation"], "Validation split"),
        "",
    ]
    if comparison:
        parts += ["## Compared approaches", "",
                  "From `make report` (`stance train --compare-only`); details in `REPORT.md`.", "",
                  comparison_table(comparison), ""]
    parts += [
        "## Intended use",
        "",
        "Tracking who takes which stance on Ukraine's NATO membership in English news, sentence "
        "by sentence, aggregated per article, actor and period by `stance track`. Read the "
        "evidence sentences before drawing conclusions; labels are signals, not verdicts.",
        "",
        "## Limitations",
        "",
        "- Trained on five real articles (all from March 2022 and December 2024) and a supplement "
        "written for this project: real-world wording outside that register will score lower. "
        "Leave-one-article-out over the seed articles (the only real news text with labels here) "
        "is the closer guide than the authored test split; its main error is neutral sentences "
        "of real articles marked as taking a stance (confusion matrices in REPORT.md).",
        "- One target only; the model does not know about other countries' membership bids.",
        "- A sentence is classified alone: stance carried only by context (a pronoun, an earlier "
        "sentence) can be missed; quotes are kept with their attribution by the segmenter.",
        "- English only; 6-layer MiniLM with a 96-token window.",
        "",
    ]
    path = out_dir / "README.md"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
