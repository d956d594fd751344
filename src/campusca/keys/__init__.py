"""Private-key backends: the only package that holds private key objects of CA, RA and OCSP keys."""

from campusca.keys.backend import KeyBackend, KeyType, generate_private_key
from campusca.keys.errors import KeyBackendError, KeyExists, KeyNotFound, MasterKeyError
from campusca.keys.software import SoftwareKeyBackend, create_master_key_file, read_master_key

__all__ = [
    "KeyBackend",
    "KeyBackendError",
    "KeyExists",
    "KeyNotFound",
    "KeyType",
    "MasterKeyError",
    "SoftwareKeyBackend",
    "create_master_key_file",
    "generate_private_key",
    "read_master_key",
]
