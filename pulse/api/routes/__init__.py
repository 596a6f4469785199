"""One module per group of endpoints, each exposing an ``APIRouter`` named ``router``."""
