import services.credit.credentials.models
import services.credit.files.models  # noqa: F401  (registers the credit-file tables)
from services.credit.models import Base
from services.kit import audit_chain, feed  # noqa: F401  (their tables: exchange_metadata)
from services.kit.agreements import agreement_metadata
from services.kit.migrate import run_env
from services.kit.suspensions import standing_metadata
from services.kit.tables import exchange_metadata, kit_metadata

# Credit serves change feeds to agencies, keeps its exchange audit chain and its read model of
# the registry's data-sharing agreements (issue 14).
run_env([Base.metadata, kit_metadata, exchange_metadata, agreement_metadata, standing_metadata])
