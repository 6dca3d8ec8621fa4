from services.kit import audit_chain, feed  # noqa: F401  (their tables: exchange_metadata)
from services.kit.migrate import run_env
from services.kit.suspensions import standing_metadata
from services.kit.tables import exchange_metadata, kit_metadata
from services.registry.models import Base

# The registry serves change feeds and keeps the exchange audit chain (issue 14).
run_env([Base.metadata, kit_metadata, exchange_metadata, standing_metadata])
