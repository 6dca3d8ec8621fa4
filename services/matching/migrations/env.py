from services.kit.migrate import run_env
from services.kit.tables import kit_metadata
from services.matching.models import Base

run_env([Base.metadata, kit_metadata])
