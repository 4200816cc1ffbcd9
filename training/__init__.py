"""`make train`: the small models the answer path ships in bot/models/, trained on public data.

Each script is reproducible (fixed seeds, fixed splits) and prints what its model scores on data it
did not see. Training may use torch and scikit-learn; answering uses neither. This folder is not
shipped in the wheel, and nothing in `bot/` imports it: `bot/` reads only what it writes to `bot/models/`;
every threshold goes to the one policy file, `bot/models/policy.json` (`training/policy_file.py`).
"""
