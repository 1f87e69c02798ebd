"""AI-disclosure metadata: an XMP packet with the IPTC digital source type
``trainedAlgorithmicMedia``, the generator and the disclosure text, written into JPEG (APP1)
and PNG (iTXt ``XML:com.adobe.xmp``) before the C2PA manifest is signed over the file.

Reading uses regular expressions on the packet, not an XML parser: a hostile upload's XMP
is never expanded (no entity tricks), only searched."""

from __future__ import annotations

import re
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
XMP_NAMESPACE = "https://aupguard.dev/ns/xmp/1.0/"

_SOURCE_TYPE = re.compile(
    rb"Iptc4xmpExt:DigitalSourceType\s*(?:=\s*[\"']([^\"']*)[\"']|>\s*([^<\s]*)\s*<)"
)
_DESCRIPTION = re.compile(rb"<dc:description>.*?<rdf:li[^>]*>(.*?)</rdf:li>", re.DOTALL)
_JPEG_XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
_PNG_XMP_KEYWORD = b"XML:com.adobe.xmp"


def build_xmp(*, generator: str, disclosure: str, generation_id: str, policy: str) -> bytes:
    """The XMP packet (UTF-8)."""
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        '  <rdf:Description rdf:about=""\n'
        '    xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"\n'
        '    xmlns:dc="http://purl.org/dc/elements/1.1/"\n'
        '    xmlns:xmp="http://ns.adobe.com/xap/1.0/"\n'
        f'    xmlns:aupguard="{XMP_NAMESPACE}"\n'
        f'    Iptc4xmpExt:DigitalSourceType="{TRAINED_ALGORITHMIC_MEDIA}"\n'
        f"    xmp:CreatorTool={quoteattr(generator)}\n"
        f"    aupguard:GenerationId={quoteattr(generation_id)}\n"
        f"    aupguard:Policy={quoteattr(policy)}>\n"
        "   <dc:description><rdf:Alt>"
        f'<rdf:li xml:lang="x-default">{escape(disclosure)}</rdf:li>'
        "</rdf:Alt></dc:description>\n"
        "  </rdf:Description>\n"
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        '<?xpacket end="w"?>'
    ).encode()


@dataclass(frozen=True)
class DisclosureMetadata:
    xmp_present: bool
    digital_source_type: str | None
    description: str | None

    @property
    def ai_generated(self) -> bool:
        return self.digital_source_type == TRAINED_ALGORITHMIC_MEDIA


def _find_xmp(data: bytes) -> bytes | None:
    """The XMP packet of a JPEG (APP1 segment) or PNG (iTXt chunk), found by walking the
    container's segments rather than searching pixels for look-alike bytes."""
    if data.startswith(b"\xff\xd8"):
        pos = 2
        while pos + 4 <= len(data) and data[pos] == 0xFF:
            marker = data[pos + 1]
            if marker in (0xD9, 0xDA):  # end of image / start of scan: no more metadata
                return None
            length = int.from_bytes(data[pos + 2 : pos + 4], "big")
            body = data[pos + 4 : pos + 2 + length]
            if marker == 0xE1 and body.startswith(_JPEG_XMP_HEADER):
                return body[len(_JPEG_XMP_HEADER) :]
            pos += 2 + length
        return None
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        pos = 8
        while pos + 8 <= len(data):
            length = int.from_bytes(data[pos : pos + 4], "big")
            kind = data[pos + 4 : pos + 8]
            body = data[pos + 8 : pos + 8 + length]
            if kind == b"iTXt" and body.startswith(_PNG_XMP_KEYWORD + b"\x00"):
                # keyword\0 compression-flag compression-method language\0 translated\0 text
                rest = body[len(_PNG_XMP_KEYWORD) + 3 :]
                parts = rest.split(b"\x00", 2)
                return (
                    parts[2] if len(parts) == 3 and body[len(_PNG_XMP_KEYWORD) + 1] == 0 else None
                )
            if kind == b"IEND":
                return None
            pos += 12 + length
    return None


def read_disclosure(data: bytes) -> DisclosureMetadata:
    xmp = _find_xmp(data)
    if xmp is None:
        return DisclosureMetadata(xmp_present=False, digital_source_type=None, description=None)
    match = _SOURCE_TYPE.search(xmp)
    source = (match.group(1) or match.group(2)).decode("utf-8", "replace") if match else None
    desc = _DESCRIPTION.search(xmp)
    return DisclosureMetadata(
        xmp_present=True,
        digital_source_type=source,
        description=desc.group(1).decode("utf-8", "replace") if desc else None,
    )
