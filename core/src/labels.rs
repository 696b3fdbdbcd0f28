//! The label set of a series, shared by the sources' answers and the scripts that read them.

use std::fmt;

/// The label set of one series, sorted by name, a name at most once.
///
/// Packed in one allocation: a refresh at a million instances holds millions of label sets
/// at once, and as a vector of boxed strings two labels cost five allocations (about 190
/// bytes) where this costs one (about 50). Each name and value is its length (`u32`, little
/// endian) followed by its UTF-8 bytes. Scanned linearly: Prometheus series rarely carry more
/// than a dozen labels, and a linear scan beats hashing at that size.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Labels(Box<[u8]>);

impl Labels {
    /// From pairs in any order; a name given twice keeps its last value (as a JSON object's
    /// later key wins).
    pub fn from_pairs<K: AsRef<str>, V: AsRef<str>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Labels {
        let mut pairs: Vec<(K, V)> = pairs.into_iter().collect();
        // Stable: among equal names the last given stays last, and is the one kept.
        pairs.sort_by(|a, b| a.0.as_ref().cmp(b.0.as_ref()));
        let mut out = Vec::new();
        for (i, (k, v)) in pairs.iter().enumerate() {
            let superseded = pairs
                .get(i + 1)
                .is_some_and(|next| next.0.as_ref() == k.as_ref());
            // A string over 4 GiB cannot come from a bounded answer; it is left out rather
            // than written with a wrong length.
            let (k, v) = (k.as_ref(), v.as_ref());
            if superseded || u32::try_from(k.len().max(v.len())).is_err() {
                continue;
            }
            for s in [k, v] {
                out.extend_from_slice(&(s.len() as u32).to_le_bytes());
                out.extend_from_slice(s.as_bytes());
            }
        }
        Labels(out.into_boxed_slice())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        let mut rest = &self.0[..];
        while let Some(k) = take(&mut rest) {
            let v = take(&mut rest)?;
            if k == name.as_bytes() {
                return std::str::from_utf8(v).ok();
            }
        }
        None
    }

    /// The same set with only the labels named in `names`.
    pub fn only(&self, names: &[Box<str>]) -> Labels {
        Labels::from_pairs(
            self.iter()
                .filter(|(k, _)| names.iter().any(|n| &**n == *k)),
        )
    }

    pub fn iter(&self) -> Iter<'_> {
        Iter(&self.0)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The next length-prefixed string of a packed label set.
fn take<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let (len, after) = rest.split_first_chunk::<4>()?;
    let (s, after) = after.split_at_checked(u32::from_le_bytes(*len) as usize)?;
    *rest = after;
    Some(s)
}

/// The (name, value) pairs of a label set, by name.
pub struct Iter<'a>(&'a [u8]);

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a str, &'a str);
    fn next(&mut self) -> Option<Self::Item> {
        // Written from `&str` only, so the bytes are UTF-8; checking costs little and keeps
        // this free of `unsafe`.
        let k = std::str::from_utf8(take(&mut self.0)?).ok()?;
        let v = std::str::from_utf8(take(&mut self.0)?).ok()?;
        Some((k, v))
    }
}

impl<'a> IntoIterator for &'a Labels {
    type Item = (&'a str, &'a str);
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl<'a> FromIterator<(&'a str, &'a str)> for Labels {
    fn from_iter<I: IntoIterator<Item = (&'a str, &'a str)>>(it: I) -> Self {
        Labels::from_pairs(it)
    }
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::Labels;
    use proptest::prelude::*;

    proptest! {
        /// Whatever the pairs, the set reads back sorted, one value per name, the last
        /// given winning, and `get` agrees with iteration.
        #[test]
        fn packed_labels_read_back_as_a_sorted_map(
            pairs in proptest::collection::vec(("[a-c_]{0,3}", "\\PC{0,6}"), 0..8)
        ) {
            let labels = Labels::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            let want: std::collections::BTreeMap<&str, &str> =
                pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            prop_assert_eq!(labels.iter().collect::<Vec<_>>(), want.clone().into_iter().collect::<Vec<_>>());
            for (k, v) in &want {
                prop_assert_eq!(labels.get(k), Some(*v));
            }
            prop_assert_eq!(labels.get("zz"), None);
            let names: Vec<Box<str>> = vec!["a".into(), "zz".into()];
            let only = labels.only(&names);
            prop_assert_eq!(only.iter().collect::<Vec<_>>(), want.get("a").map(|v| ("a", *v)).into_iter().collect::<Vec<_>>());
            prop_assert_eq!(labels.is_empty(), want.is_empty());
        }
    }
}
