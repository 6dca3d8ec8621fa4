import services.credit.files.models  # noqa: F401  (registers the credit-file tables)
from services.credit.models import Base
from services.kit.migrate import run_env
from services.kit.tables import kit_metadata

run_env([Base.metadata, kit_metadata])
