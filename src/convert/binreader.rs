//! A bounded little-endian reader: every read is checked against the bytes left in the file
//! first, so a truncated or hostile file gives a `Truncated` error, never a huge allocation.

use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;

use super::error::ConvertError;

pub struct BinReader<R> {
    inner: R,
    path: PathBuf,
    file: &'static str,
    pos: u64,
    len: u64,
}

impl<R: Read + Seek> BinReader<R> {
    /// `len` is the total length of the file; `file` is its name as shown in errors.
    pub fn new(inner: R, len: u64, path: PathBuf, file: &'static str) -> Self {
        Self {
            inner,
            path,
            file,
            pos: 0,
            len,
        }
    }

    pub fn pos(&self) -> u64 {
        self.pos
    }

    pub fn remaining(&self) -> u64 {
        self.len - self.pos
    }

    pub fn into_inner(self) -> R {
        self.inner
    }

    /// Errors unless `n` more bytes exist; `what` names the field for the message.
    pub fn ensure(&self, n: u64, what: &str) -> Result<(), ConvertError> {
        if n <= self.remaining() {
            return Ok(());
        }
        Err(ConvertError::Truncated {
            file: self.file,
            offset: self.len,
            what: what.to_owned(),
        })
    }

    /// Reads `n` bytes; the length is checked before anything is allocated.
    pub fn bytes(&mut self, n: u64, what: &str) -> Result<Vec<u8>, ConvertError> {
        self.ensure(n, what)?;
        let size = usize::try_from(n).map_err(|_| self.malformed(format!("{what} too large")))?;
        let mut buf = vec![0u8; size];
        self.inner
            .read_exact(&mut buf)
            .map_err(|e| ConvertError::io(&self.path, e))?;
        self.pos += n;
        Ok(buf)
    }

    /// Moves past `n` bytes without reading them.
    pub fn skip(&mut self, n: u64, what: &str) -> Result<(), ConvertError> {
        self.ensure(n, what)?;
        self.pos += n;
        self.inner
            .seek(SeekFrom::Start(self.pos))
            .map_err(|e| ConvertError::io(&self.path, e))?;
        Ok(())
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], ConvertError> {
        let bytes = self.bytes(N as u64, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(&bytes);
        Ok(out)
    }

    pub fn u8(&mut self, what: &str) -> Result<u8, ConvertError> {
        Ok(self.array::<1>(what)?[0])
    }

    pub fn u16(&mut self, what: &str) -> Result<u16, ConvertError> {
        self.array(what).map(u16::from_le_bytes)
    }

    pub fn u32(&mut self, what: &str) -> Result<u32, ConvertError> {
        self.array(what).map(u32::from_le_bytes)
    }

    /// CTranslate2's string: `u16` length (counting the NUL), the bytes, then a NUL.
    pub fn string(&mut self, what: &str) -> Result<String, ConvertError> {
        let len = self.u16(what)?;
        let mut bytes = self.bytes(u64::from(len), what)?;
        if bytes.pop() != Some(0) {
            return Err(self.malformed(format!("{what} is not NUL-terminated")));
        }
        String::from_utf8(bytes).map_err(|_| self.malformed(format!("{what} is not UTF-8")))
    }

    pub fn malformed(&self, what: String) -> ConvertError {
        ConvertError::Malformed {
            file: self.file,
            what,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn reader(bytes: &[u8]) -> BinReader<Cursor<Vec<u8>>> {
        let len = bytes.len() as u64;
        BinReader::new(Cursor::new(bytes.to_vec()), len, "x.bin".into(), "x.bin")
    }

    #[test]
    fn reads_little_endian_fields_and_strings() {
        let mut r = reader(&[7, 0x34, 0x12, 1, 0, 0, 0, 3, 0, b'h', b'i', 0]);
        assert_eq!(r.u8("a").unwrap(), 7);
        assert_eq!(r.u16("b").unwrap(), 0x1234);
        assert_eq!(r.u32("c").unwrap(), 1);
        assert_eq!(r.string("d").unwrap(), "hi");
        assert_eq!(r.remaining(), 0);
    }

    #[test]
    fn a_short_read_names_the_field_and_offset() {
        let mut r = reader(&[1, 2]);
        let err = r.u32("variable count").unwrap_err();
        assert_eq!(
            err.to_string(),
            "x.bin: truncated at byte 2 while reading variable count"
        );
    }

    #[test]
    fn a_huge_length_is_refused_before_allocating() {
        let mut r = reader(&[0; 16]);
        let err = r.bytes(u64::from(u32::MAX), "data").unwrap_err();
        assert!(matches!(err, ConvertError::Truncated { offset: 16, .. }));
        assert!(r.skip(17, "data").is_err());
        assert!(r.skip(16, "data").is_ok());
    }

    #[test]
    fn strings_must_end_in_nul_and_be_utf8() {
        assert!(reader(&[2, 0, b'a', b'b']).string("s").is_err());
        assert!(reader(&[2, 0, 0xff, 0]).string("s").is_err());
        assert_eq!(reader(&[1, 0, 0]).string("s").unwrap(), "");
    }
}
