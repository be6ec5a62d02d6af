"""Field kits: a field laptop collects offline and its bundle comes back to the central store.

`sealed` is the bundle's container: a tar stream encrypted to the central store's key.
"""

from jamii.core.kit.sealed import (SealedError, SealedSummary, is_safe_member_name,
                                   load_or_create_key, new_keypair, public_key_of, read_sealed,
                                   verify_sealed, write_sealed)

__all__ = ["SealedError", "SealedSummary", "is_safe_member_name", "load_or_create_key",
           "new_keypair", "public_key_of", "read_sealed", "verify_sealed", "write_sealed"]
