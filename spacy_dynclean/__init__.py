"""spacy-dynclean: clean distantly supervised NER data by its training dynamics."""
from .component import DynCleanNER, make_dynclean_ner
from .dynamics import Dynamics
from .util import DynCleanError

__version__ = "0.1.0"
__all__ = ["Dynamics", "DynCleanNER", "DynCleanError", "make_dynclean_ner", "__version__"]
