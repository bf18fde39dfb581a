//! Plaintext buffers that leave no copy behind. `Zeroizing` wipes a buffer when it is
//! dropped, but a `Vec` or `String` that grows moves its contents to a new allocation
//! and frees the old one unwiped; these helpers grow by copying into a fresh wiped
//! buffer instead.

use std::io::{ErrorKind, Read};

use zeroize::Zeroizing;

/// Reads `reader` to the end, at most `limit` bytes plus one (so that callers can tell
/// "more than the limit" apart), into a buffer that is wiped on drop.
pub fn read(reader: impl Read, limit: u64) -> std::io::Result<Zeroizing<Vec<u8>>> {
    let mut reader = reader.take(limit.saturating_add(1));
    let mut out = Zeroizing::new(Vec::with_capacity(8192));
    let mut chunk = Zeroizing::new([0u8; 8192]);
    loop {
        let n = match reader.read(&mut chunk[..]) {
            Ok(0) => return Ok(out),
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        reserve(&mut out, n);
        out.extend_from_slice(&chunk[..n]);
    }
}

/// Makes room for `more` bytes in `buf` without leaving an unwiped copy.
fn reserve(buf: &mut Zeroizing<Vec<u8>>, more: usize) {
    let needed = buf.len() + more;
    if needed > buf.capacity() {
        let mut bigger = Zeroizing::new(Vec::with_capacity(needed.max(buf.capacity() * 2)));
        bigger.extend_from_slice(buf);
        // The old buffer is wiped as it is dropped here.
        *buf = bigger;
    }
}

/// Appends `text` to `out`, growing it without leaving an unwiped copy.
pub fn push_str(out: &mut Zeroizing<String>, text: &str) {
    let needed = out.len() + text.len();
    if needed > out.capacity() {
        let mut bigger = Zeroizing::new(String::with_capacity(needed.max(out.capacity() * 2)));
        bigger.push_str(out);
        *out = bigger;
    }
    out.push_str(text);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_everything_up_to_one_past_the_limit() {
        let data: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
        assert_eq!(*read(&data[..], 1 << 20).unwrap(), data);
        assert_eq!(read(&data[..], 100).unwrap().len(), 101);
        assert!(read(&b""[..], 10).unwrap().is_empty());
    }

    #[test]
    fn push_str_grows_and_keeps_the_text() {
        let mut out = Zeroizing::new(String::new());
        for i in 0..1000 {
            push_str(&mut out, &format!("{i},"));
        }
        assert!(out.starts_with("0,1,2,") && out.ends_with("998,999,"));
    }
}
