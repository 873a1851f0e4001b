"""Model backends behind one interface (`Backend.generate`, `Backend.loglikelihood`), resolved by name."""

from clinqa.models.base import Backend, GenRequest, GenResult
from clinqa.models.resolve import load_model

__all__ = ["Backend", "GenRequest", "GenResult", "load_model"]
