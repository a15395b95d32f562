"""``python -m samplegen``: the same as the ``cdisc-sample`` command."""

import sys

from samplegen.cli import main

sys.exit(main())
