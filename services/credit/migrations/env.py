import services.credit.credentials.models  # noqa: F401  (its tables join Base.metadata)
from services.credit.models import Base
from services.kit.migrate import run_env
from services.kit.tables import kit_metadata

run_env([Base.metadata, kit_metadata])
