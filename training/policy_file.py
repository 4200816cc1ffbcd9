"""Write a training step's thresholds into the one policy file (`bot/models/policy.json`, read by
`bot/policy.py`), leaving the other steps' entries as they are.

    update({"answer": {"reader": 0.108}}, note="calibrate: SQuAD train sample, calibration articles")
"""

from __future__ import annotations

import json

from bot.policy import POLICY_FILE


def update(values: dict, note: str) -> None:
    """Merge `values` into the policy file (a mapping merges key by key), and record `note` under "notes"
    for the entries it wrote."""
    policy = json.loads(POLICY_FILE.read_text(encoding="utf-8")) if POLICY_FILE.exists() else {}
    notes = policy.setdefault("notes", {})
    for key, value in values.items():
        if isinstance(value, dict) and isinstance(policy.get(key), dict):
            policy[key] = {**policy[key], **value}
            notes.update({f"{key}.{part}": note for part in value})
        else:
            policy[key] = value
            notes[key] = note
    POLICY_FILE.write_text(json.dumps(policy, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
