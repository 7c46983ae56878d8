"""``python -m muzero`` runs the command line."""

import sys

from muzero.cli import main

sys.exit(main())
