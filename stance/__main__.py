# PYTHON_ARGCOMPLETE_OK
"""`python -m stance`: the same command as `stance`."""

import sys

from stance.cli import main

sys.exit(main())
