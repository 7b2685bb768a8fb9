"""Resource clients, one per group of the endpoint reference."""

from ._account import ApiKeys, Auth, Credits
from ._conversion import TTS, Orders, Stats
from ._library import Folders, Projects
from ._recordings import Calibrations, Notes, Recordings
from ._voices import Accents, NarrationStyles, Voices

__all__ = [
    "TTS",
    "Accents",
    "ApiKeys",
    "Auth",
    "Calibrations",
    "Credits",
    "Folders",
    "NarrationStyles",
    "Notes",
    "Orders",
    "Projects",
    "Recordings",
    "Stats",
    "Voices",
]
