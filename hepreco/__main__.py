import sys

from hepreco.cli import main

sys.exit(main())
