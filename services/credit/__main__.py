import sys

from services.kit.cli import main

sys.exit(main("credit", "services.credit.app:create_app"))
