from services.kit.migrate import run_env
from services.kit.suspensions import standing_metadata
from services.kit.tables import kit_metadata
from services.training.apprenticeships import models as _apprenticeships  # noqa: F401
from services.training.bases import models as _bases  # noqa: F401  (tables)
from services.training.competitions import models as _competitions  # noqa: F401  (tables)
from services.training.models import Base
from services.training.subsidies import models as _subsidies  # noqa: F401  (tables)
from services.training.ventures import models as _ventures  # noqa: F401  (tables)

run_env([Base.metadata, kit_metadata, standing_metadata])
