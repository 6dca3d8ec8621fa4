import sys

from services.kit.cli import main

sys.exit(main("rating", "services.rating.app:create_app"))
