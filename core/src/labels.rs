//! The label set of a series, shared by the sources' answers and the scripts that read them.

/// The label set of one series. Small and scanned linearly: Prometheus series rarely carry
/// more than a dozen labels, and a linear scan beats hashing at that size.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Labels(pub Vec<(Box<str>, Box<str>)>);

impl Labels {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| &**k == name).map(|(_, v)| &**v)
    }
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (&**k, &**v))
    }
}

impl<'a> FromIterator<(&'a str, &'a str)> for Labels {
    fn from_iter<I: IntoIterator<Item = (&'a str, &'a str)>>(it: I) -> Self {
        Labels(it.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }
}
