from services.kit.migrate import run_env
from services.kit.suspensions import standing_metadata
from services.kit.tables import kit_metadata
from services.rating.models import Base

run_env([Base.metadata, kit_metadata, standing_metadata])
