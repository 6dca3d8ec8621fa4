import sys

from services.kit.cli import main

sys.exit(main("registry", "services.registry.app:create_app"))
