import sys

argv = sys.argv[1:]
if argv and argv[0] == "audit":  # the exchange audit chain (issue 14), before heavier imports
    from services.kit.audit_cli import main as audit_main

    sys.exit(audit_main("matching", argv[1:]))

from services.kit.cli import main  # noqa: E402

sys.exit(main("matching", "services.matching.app:create_app"))
