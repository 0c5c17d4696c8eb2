"""lndesk: one-way, peer-to-peer learning networks built on signed personal logs.

This package's top-level modules are the core: identity, entry format, content types
and errors. They are pure Python (no Qt, no libp2p, no database) and are imported by
``lndesk.store`` and ``lndesk.p2p``.
"""

__version__ = "0.1.0"
