import sys

from lndesk.cli.main import main

sys.exit(main())
