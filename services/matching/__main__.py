import sys

from services.kit.cli import main

sys.exit(main("matching", "services.matching.app:create_app"))
