"""``python -m muzero`` runs the command line."""

import sys

from muzero.app.cli import main

sys.exit(main())
