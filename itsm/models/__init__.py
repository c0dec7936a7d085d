from itsm.models.calendar import *  # noqa: F403
from itsm.models.change import *  # noqa: F403
from itsm.models.incident import *  # noqa: F403
from itsm.models.numbering import *  # noqa: F403
from itsm.models.problem import *  # noqa: F403
from itsm.models.requirement import *  # noqa: F403
