"""`python -m bookshelf`."""

import sys

from bookshelf.cli import main

sys.exit(main())
