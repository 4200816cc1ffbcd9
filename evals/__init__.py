"""The eval suite: versioned cases (`evals/cases/`), metrics, a runner gated by `evals/thresholds.toml`,
a SQuAD 2.0 benchmark and a LangChain baseline, with Markdown and HTML reports.

Run it with `dsqa eval` (or `make eval`); importing this package loads nothing heavy.
"""
