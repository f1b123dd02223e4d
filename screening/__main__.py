import sys

from screening.cli import run

sys.exit(run())
