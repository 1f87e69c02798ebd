"""Normalised identifiers that link accounts: e-mail addresses and IP networks."""

from __future__ import annotations

import ipaddress
import unicodedata

# providers where dots in the local part do not change the mailbox
DOT_INSENSITIVE_DOMAINS = frozenset({"gmail.com"})
# domains that deliver to the same mailboxes as another
DOMAIN_ALIASES = {
    "googlemail.com": "gmail.com",
    "ymail.com": "yahoo.com",
    "pm.me": "proton.me",
    "protonmail.com": "proton.me",
    "protonmail.ch": "proton.me",
}
# look-alike characters in domains (digits and Cyrillic/Greek letters that render as Latin)
_LOOKALIKE = str.maketrans(
    {
        "0": "o",
        "1": "l",
        "а": "a",
        "е": "e",
        "о": "o",
        "р": "p",
        "с": "c",
        "у": "y",
        "х": "x",
        "і": "i",
        "ј": "j",
        "ԁ": "d",
        "ο": "o",
        "α": "a",
        "ι": "i",
        "ν": "v",
    }
)


def normalize_email(email: str) -> str:
    """The mailbox an address reaches, for linking: case-folded, plus-tag dropped, dots
    dropped where the provider ignores them, look-alike domains folded
    (``J.Doe+promo@GoogleMail.com`` and ``jdoe@gmai1.com`` both give ``jdoe@gmail.com``).

    Raises ``ValueError`` for something that is not an address."""
    text = unicodedata.normalize("NFKC", email).strip().casefold()
    local, sep, domain = text.rpartition("@")
    if not sep or not local or "." not in domain or " " in text:
        raise ValueError(f"not an e-mail address: {email!r}")
    domain = domain.rstrip(".")
    folded = domain.translate(_LOOKALIKE)
    folded = DOMAIN_ALIASES.get(folded, folded)
    local = local.split("+", 1)[0]
    if folded in DOT_INSENSITIVE_DOMAINS:
        local = local.replace(".", "")
    return f"{local}@{folded}"


def network_of(ip: str) -> str:
    """The network an address belongs to for abuse purposes: the /24 of an IPv4 address, the
    /48 of an IPv6 one (one home, office or mobile cell). Raises ``ValueError`` if ``ip`` is
    not an address."""
    address = ipaddress.ip_address(ip.strip())
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))
