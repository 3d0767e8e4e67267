import sys

from tools.vebus.cli import main

sys.exit(main())
