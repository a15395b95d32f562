"""The errors a user can cause (bad input, bad spec): shown as one clear message,
never as a traceback. Anything else is a bug and keeps its traceback."""

from transforms.adam.tte import TteDataError
from transforms.datasetjson import DatasetJsonError
from transforms.extract.exports import NoExportError
from transforms.extract.readers import RawFileError
from transforms.pipeline import PipelineError
from transforms.publish import LockTimeout
from transforms.sdtm.algorithms import SpecError
from transforms.xpt import XptError

USER_ERRORS: tuple[type[Exception], ...] = (
    DatasetJsonError,
    NoExportError,
    LockTimeout,
    PipelineError,
    RawFileError,
    SpecError,
    TteDataError,
    XptError,
)
