"""EPN appliance: the software of one public digital space (Espace Public Numérique)."""

__version__ = "0.1.0"
