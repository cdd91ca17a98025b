"""medanon: de-identify medical images and judge whether they are fit for scientific sharing.

Typical use inside a pipeline::

    import medanon
    from pydicom import dcmread

    policy = medanon.load_policy("research")
    keyring, _ = medanon.load_keyring()          # or medanon.Keyring(secret_bytes)
    scrubber = medanon.Scrubber(policy, keyring)
    clean, outcome = scrubber.scrub_dataset(dcmread("ct.dcm"))
    result = scrubber.scrub_file(Path("ct.dcm"), Path("out/ct.dcm"))
"""

from ._version import __version__
from .dicom.engine import Outcome
from .dicom.table import Action, Option
from .errors import InputError, MedanonError, ProfileError, UsageError, VerificationError
from .keys import Keyring, load_keyring
from .pipeline import FileResult, Scrubber
from .policy import Policy, builtin_profiles, load_policy

__all__ = [
    "Action",
    "FileResult",
    "InputError",
    "Keyring",
    "MedanonError",
    "Option",
    "Outcome",
    "Policy",
    "ProfileError",
    "Scrubber",
    "UsageError",
    "VerificationError",
    "__version__",
    "builtin_profiles",
    "load_keyring",
    "load_policy",
]
