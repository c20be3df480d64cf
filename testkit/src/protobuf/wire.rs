//! The protobuf wire format, read without a schema: a message is a sequence of (field number,
//! value) pairs, and a value is a varint, a fixed 32/64-bit word or a length-delimited run of bytes
//! (a string, bytes, or a nested message: only the schema can tell which).

use super::DecodeError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireValue<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    Bytes(&'a [u8]),
}

impl WireValue<'_> {
    /// Whether this is what a Go struct's zero field encodes to: gogo-protobuf writes every
    /// non-pointer field, so zeros are everywhere in Kubernetes' encoding and carry nothing.
    pub fn is_zero(&self) -> bool {
        match *self {
            WireValue::Varint(v) | WireValue::Fixed64(v) => v == 0,
            WireValue::Fixed32(v) => v == 0,
            WireValue::Bytes(bytes) => {
                bytes.is_empty() || fields(bytes).is_ok_and(|fields| fields.iter().all(|(_, v)| v.is_zero()))
            }
        }
    }
}

/// All fields of one message, in wire order.
pub fn fields(mut buf: &[u8]) -> Result<Vec<(u32, WireValue<'_>)>, DecodeError> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let key = varint(&mut buf)?;
        let number = u32::try_from(key >> 3).map_err(|_| DecodeError::Malformed("field number out of range"))?;
        let value = match key & 7 {
            0 => WireValue::Varint(varint(&mut buf)?),
            1 => WireValue::Fixed64(u64::from_le_bytes(take(&mut buf, 8)?.try_into().unwrap_or_default())),
            2 => {
                let len = usize::try_from(varint(&mut buf)?).map_err(|_| DecodeError::Malformed("length too large"))?;
                WireValue::Bytes(take(&mut buf, len)?)
            }
            5 => WireValue::Fixed32(u32::from_le_bytes(take(&mut buf, 4)?.try_into().unwrap_or_default())),
            _ => return Err(DecodeError::Malformed("unknown wire type")),
        };
        out.push((number, value));
    }
    Ok(out)
}

fn take<'a>(buf: &mut &'a [u8], len: usize) -> Result<&'a [u8], DecodeError> {
    if buf.len() < len {
        return Err(DecodeError::Malformed("truncated message"));
    }
    let (head, rest) = buf.split_at(len);
    *buf = rest;
    Ok(head)
}

fn varint(buf: &mut &[u8]) -> Result<u64, DecodeError> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let [byte, rest @ ..] = *buf else { return Err(DecodeError::Malformed("truncated varint")) };
        *buf = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(DecodeError::Malformed("varint longer than 10 bytes"))
}

#[cfg(test)]
pub(crate) mod encode {
    //! Just enough of an encoder to write test messages the way gogo-protobuf does.

    pub fn varint(mut value: u64, out: &mut Vec<u8>) {
        while value >= 0x80 {
            out.push((value as u8) | 0x80);
            value >>= 7;
        }
        out.push(value as u8);
    }

    pub fn int(number: u32, value: i64, out: &mut Vec<u8>) {
        varint(u64::from(number) << 3, out);
        varint(value as u64, out);
    }

    pub fn bytes(number: u32, value: &[u8], out: &mut Vec<u8>) {
        varint((u64::from(number) << 3) | 2, out);
        varint(value.len() as u64, out);
        out.extend_from_slice(value);
    }

    pub fn string(number: u32, value: &str, out: &mut Vec<u8>) {
        bytes(number, value.as_bytes(), out);
    }

    pub fn message(number: u32, build: impl FnOnce(&mut Vec<u8>), out: &mut Vec<u8>) {
        let mut inner = Vec::new();
        build(&mut inner);
        bytes(number, &inner, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_wire_type() {
        let mut buf = Vec::new();
        encode::int(1, 300, &mut buf);
        encode::string(2, "web", &mut buf);
        buf.extend_from_slice(&[(3 << 3) | 1, 1, 0, 0, 0, 0, 0, 0, 0, (4 << 3) | 5, 2, 0, 0, 0]);
        assert_eq!(
            fields(&buf).unwrap(),
            [
                (1, WireValue::Varint(300)),
                (2, WireValue::Bytes(b"web")),
                (3, WireValue::Fixed64(1)),
                (4, WireValue::Fixed32(2))
            ]
        );
    }

    #[test]
    fn truncated_input_is_an_error_not_a_panic() {
        let mut buf = Vec::new();
        encode::string(1, "abcdef", &mut buf);
        for end in 1..buf.len() {
            assert!(fields(&buf[..end]).is_err(), "{end}");
        }
        assert!(fields(&[0x80; 11]).is_err());
    }

    #[test]
    fn zero_values_and_messages_of_zeros_are_zero() {
        let mut empty_strings = Vec::new();
        encode::string(1, "", &mut empty_strings);
        encode::int(2, 0, &mut empty_strings);
        assert!(WireValue::Bytes(&empty_strings).is_zero());
        assert!(!WireValue::Bytes(b"web").is_zero());
        assert!(!WireValue::Varint(1).is_zero());
    }
}
