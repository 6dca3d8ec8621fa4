from services.kit import audit_chain, feed  # noqa: F401  (their tables: exchange_metadata)
from services.kit.agency_keys import agency_key_metadata
from services.kit.agreements import agreement_metadata
from services.kit.migrate import run_env
from services.kit.suspensions import standing_metadata
from services.kit.tables import exchange_metadata, kit_metadata
from services.matching.models import Base
from services.matching.recruitment import models as _recruitment  # noqa: F401  (registers tables)

run_env(
    [
        Base.metadata,
        kit_metadata,
        exchange_metadata,
        agreement_metadata,
        standing_metadata,
        agency_key_metadata,
    ]
)
