"""``python -m layerkit``: the same as the ``layerkit`` command."""

import sys

from .cli import main

sys.exit(main())
