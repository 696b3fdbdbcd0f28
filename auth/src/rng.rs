//! The one place that asks the operating system for randomness.

/// Fills `buf` from the operating system's generator.
///
/// Session ids, API keys and salts are only as good as this; the public functions that mint
/// them are infallible by contract (a caller has no sensible fallback), so a generator that
/// keeps failing ends the process rather than hand out predictable secrets. On Linux the
/// `getrandom` call only fails before the kernel pool is seeded, which a retry rides out.
pub(crate) fn fill(buf: &mut [u8]) {
    for _ in 0..8 {
        if getrandom::fill(buf).is_ok() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    eprintln!("rackscope-auth: the operating system's random generator keeps failing; stopping");
    std::process::abort();
}

/// `fill` for callers that can report an error instead of stopping the process.
pub(crate) fn try_fill(buf: &mut [u8]) -> Result<(), getrandom::Error> {
    getrandom::fill(buf)
}

/// Lowercase hex, for digests and secrets shown to people and written to files.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lowercase_two_digits_per_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
    }

    #[test]
    fn fill_changes_the_buffer() {
        let mut a = [0u8; 32];
        fill(&mut a);
        assert_ne!(a, [0u8; 32]);
    }
}
