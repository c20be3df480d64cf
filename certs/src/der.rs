//! Just enough DER (ITU-T X.690) to write the two certificates the webhook issues itself and to
//! read back the fields it checks: tag-length-value encoding, definite lengths only, and a reader
//! that walks nested structures without interpreting them.

/// Universal tags used by X.509.
pub mod tag {
    pub const BOOLEAN: u8 = 0x01;
    pub const INTEGER: u8 = 0x02;
    pub const BIT_STRING: u8 = 0x03;
    pub const OCTET_STRING: u8 = 0x04;
    pub const OID: u8 = 0x06;
    pub const UTF8_STRING: u8 = 0x0c;
    pub const UTC_TIME: u8 = 0x17;
    pub const GENERALIZED_TIME: u8 = 0x18;
    pub const SEQUENCE: u8 = 0x30;
    pub const SET: u8 = 0x31;

    /// `[n]` with constructed content (EXPLICIT tagging, or an IMPLICIT SEQUENCE).
    pub const fn context_constructed(n: u8) -> u8 {
        0xa0 | n
    }

    /// `[n]` with primitive content (an IMPLICIT string such as a SAN's dNSName).
    pub const fn context_primitive(n: u8) -> u8 {
        0x80 | n
    }
}

/// One element: tag, length, then `content`.
pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        // Long form: the number of length bytes, then the length in big-endian without leading
        // zeros.
        let bytes = len.to_be_bytes();
        let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len() - 1);
        out.push(0x80 | (bytes.len() - first) as u8);
        out.extend_from_slice(&bytes[first..]);
    }
    out.extend_from_slice(content);
    out
}

/// A constructed element whose content is `parts` in order.
pub fn constructed(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    tlv(tag, &parts.concat())
}

pub fn sequence(parts: &[&[u8]]) -> Vec<u8> {
    constructed(tag::SEQUENCE, parts)
}

/// A non-negative INTEGER from big-endian magnitude bytes: minimal, with a leading zero byte
/// when the top bit is set so that it does not read as negative.
pub fn unsigned_integer(magnitude: &[u8]) -> Vec<u8> {
    let first = magnitude.iter().position(|b| *b != 0).unwrap_or(magnitude.len());
    let mut content = Vec::with_capacity(magnitude.len() + 1);
    match magnitude.get(first) {
        None => content.push(0),
        Some(b) if b & 0x80 != 0 => {
            content.push(0);
            content.extend_from_slice(&magnitude[first..]);
        }
        Some(_) => content.extend_from_slice(&magnitude[first..]),
    }
    tlv(tag::INTEGER, &content)
}

pub fn small_integer(value: u8) -> Vec<u8> {
    unsigned_integer(&[value])
}

pub fn boolean(value: bool) -> Vec<u8> {
    tlv(tag::BOOLEAN, &[if value { 0xff } else { 0x00 }])
}

/// An OBJECT IDENTIFIER from its arcs (the first two combined, the rest base 128).
pub fn oid(arcs: &[u64]) -> Vec<u8> {
    let mut content = Vec::new();
    let mut push = |mut value: u64| {
        let mut groups = vec![(value & 0x7f) as u8];
        value >>= 7;
        while value > 0 {
            groups.push(0x80 | (value & 0x7f) as u8);
            value >>= 7;
        }
        content.extend(groups.into_iter().rev());
    };
    if let [first, second, rest @ ..] = arcs {
        push(first * 40 + second);
        rest.iter().copied().for_each(push);
    }
    tlv(tag::OID, &content)
}

/// A BIT STRING of whole bytes.
pub fn bit_string(bytes: &[u8]) -> Vec<u8> {
    let mut content = Vec::with_capacity(bytes.len() + 1);
    content.push(0);
    content.extend_from_slice(bytes);
    tlv(tag::BIT_STRING, &content)
}

/// A BIT STRING holding named bits (bit 0 first, as KeyUsage numbers them), trailing zero bits
/// removed as DER requires.
pub fn named_bits(bits: &[u8]) -> Vec<u8> {
    let Some(highest) = bits.iter().copied().max() else { return tlv(tag::BIT_STRING, &[0]) };
    let mut bytes = vec![0u8; usize::from(highest / 8) + 1];
    for bit in bits {
        bytes[usize::from(bit / 8)] |= 0x80 >> (bit % 8);
    }
    let unused = 7 - highest % 8;
    let mut content = vec![unused];
    content.extend(bytes);
    tlv(tag::BIT_STRING, &content)
}

pub fn octet_string(bytes: &[u8]) -> Vec<u8> {
    tlv(tag::OCTET_STRING, bytes)
}

pub fn utf8_string(text: &str) -> Vec<u8> {
    tlv(tag::UTF8_STRING, text.as_bytes())
}

/// Why a DER structure could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed DER: {0}")]
pub struct DerError(pub &'static str);

/// Reads consecutive elements out of a byte slice.
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

/// One element read: its tag, its content and all of its bytes (tag and length included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Element<'a> {
    pub tag: u8,
    pub content: &'a [u8],
    pub raw: &'a [u8],
}

impl<'a> Element<'a> {
    /// A reader over the content of this (constructed) element.
    pub fn reader(&self) -> Reader<'a> {
        Reader::new(self.content)
    }
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The tag of the next element, without reading it.
    pub fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    pub fn read(&mut self) -> Result<Element<'a>, DerError> {
        let bytes = self.rest;
        let (&tag, after_tag) = bytes.split_first().ok_or(DerError("unexpected end"))?;
        if tag & 0x1f == 0x1f {
            return Err(DerError("multi-byte tags are not used in certificates"));
        }
        let (&first, after_first) = after_tag.split_first().ok_or(DerError("missing length"))?;
        let (len, after_len) = if first < 0x80 {
            (usize::from(first), after_first)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 || after_first.len() < count {
                return Err(DerError("unsupported length"));
            }
            let len = after_first[..count].iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (len, &after_first[count..])
        };
        if after_len.len() < len {
            return Err(DerError("length past the end"));
        }
        let header = bytes.len() - after_len.len();
        self.rest = &after_len[len..];
        Ok(Element { tag, content: &after_len[..len], raw: &bytes[..header + len] })
    }

    /// The next element, which must have `tag`.
    pub fn expect(&mut self, tag: u8, what: &'static str) -> Result<Element<'a>, DerError> {
        let element = self.read()?;
        if element.tag != tag {
            return Err(DerError(what));
        }
        Ok(element)
    }

    /// The next element if it has `tag`; nothing read otherwise.
    pub fn optional(&mut self, tag: u8) -> Result<Option<Element<'a>>, DerError> {
        match self.peek_tag() {
            Some(next) if next == tag => self.read().map(Some),
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_use_the_short_form_below_128_and_the_minimal_long_form_above() {
        assert_eq!(tlv(0x04, &[]), [0x04, 0x00]);
        assert_eq!(tlv(0x04, &[7; 127])[..2], [0x04, 0x7f]);
        assert_eq!(tlv(0x04, &[7; 128])[..3], [0x04, 0x81, 0x80]);
        assert_eq!(tlv(0x04, &[7; 256])[..4], [0x04, 0x82, 0x01, 0x00]);
    }

    #[test]
    fn integers_are_minimal_and_never_negative() {
        assert_eq!(unsigned_integer(&[0, 0, 5]), [0x02, 0x01, 0x05]);
        assert_eq!(unsigned_integer(&[0x80]), [0x02, 0x02, 0x00, 0x80]);
        assert_eq!(unsigned_integer(&[]), [0x02, 0x01, 0x00]);
        assert_eq!(small_integer(2), [0x02, 0x01, 0x02]);
    }

    #[test]
    fn object_identifiers_encode_as_x690_shows() {
        // ecdsa-with-SHA256 and id-ce-subjectAltName, as every X.509 dump prints them.
        assert_eq!(oid(&[1, 2, 840, 10045, 4, 3, 2]), [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]);
        assert_eq!(oid(&[2, 5, 29, 17]), [0x06, 0x03, 0x55, 0x1d, 0x11]);
    }

    #[test]
    fn named_bits_drop_trailing_zeros() {
        // digitalSignature (bit 0) alone: 7 unused bits.
        assert_eq!(named_bits(&[0]), [0x03, 0x02, 0x07, 0x80]);
        // keyCertSign (5) and cRLSign (6): one unused bit.
        assert_eq!(named_bits(&[5, 6]), [0x03, 0x02, 0x01, 0x06]);
    }

    #[test]
    fn the_reader_walks_what_the_writer_wrote() {
        let inner = octet_string(&[9; 200]);
        let outer = sequence(&[&small_integer(3), &inner, &boolean(true)]);
        let mut top = Reader::new(&outer);
        let seq = top.expect(tag::SEQUENCE, "sequence").unwrap();
        assert!(top.is_empty());
        let mut fields = seq.reader();
        assert_eq!(fields.expect(tag::INTEGER, "int").unwrap().content, [3]);
        assert_eq!(fields.optional(tag::BOOLEAN).unwrap(), None);
        let octets = fields.expect(tag::OCTET_STRING, "octets").unwrap();
        assert_eq!((octets.content.len(), octets.raw), (200, inner.as_slice()));
        assert_eq!(fields.optional(tag::BOOLEAN).unwrap().unwrap().content, [0xff]);
        assert!(fields.read().is_err());
    }

    #[test]
    fn truncated_input_is_an_error_not_a_panic() {
        let whole = sequence(&[&octet_string(&[1; 300])]);
        for cut in 0..whole.len() {
            assert!(Reader::new(&whole[..cut]).read().is_err(), "cut at {cut}");
        }
    }
}
