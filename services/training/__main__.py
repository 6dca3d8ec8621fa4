import sys

from services.kit.cli import main

sys.exit(main("training", "services.training.app:create_app"))
