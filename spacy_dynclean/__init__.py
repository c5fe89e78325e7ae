"""spacy-dynclean: clean distantly supervised NER data by its training dynamics."""
from spacy_dynclean.recording.component import DynCleanNER, make_dynclean_ner
from spacy_dynclean.recording.dynamics import Dynamics
from spacy_dynclean.util import DynCleanError

__version__ = "0.1.0"
__all__ = ["Dynamics", "DynCleanNER", "DynCleanError", "make_dynclean_ner", "__version__"]
