import sys

argv = sys.argv[1:]
if argv and argv[0] == "audit":  # the exchange audit chain (issue 14), before heavier imports
    from services.kit.audit_cli import main as audit_main

    sys.exit(audit_main("matching", argv[1:]))

if argv and argv[0] == "backfill-feeds":  # records from before the feeds (issue 14), once
    from services.kit.feed_backfill import main as backfill_main
    from services.matching.feeds_backfill import SOURCES

    sys.exit(backfill_main("matching", SOURCES))

from services.kit.cli import main  # noqa: E402

sys.exit(main("matching", "services.matching.app:create_app"))
