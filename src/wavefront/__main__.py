"""`python -m wavefront`."""

from wavefront.cli import main

main()
