"""Retrain a stance model: `python training/train.py --config training/config.json [--compare]`.

The same as `stance train`; settings are the fields of stance.train.TrainingConfig.
"""

import sys

from stance.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
