//! Migration versions: positive integers, compared as numbers whatever their zero padding.

use std::fmt;

/// A migration version: a positive integer (`0001` and `1` are the same version).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Version(u64);

impl Version {
    /// The version `n`, or `None` for zero (zero means "nothing applied" and is never a file's version).
    /// Versions are stored as PostgreSQL `bigint`, so they must also fit in an `i64`.
    pub fn new(n: u64) -> Option<Self> {
        (n > 0 && i64::try_from(n).is_ok()).then_some(Self(n))
    }

    /// The number itself.
    pub fn get(self) -> u64 {
        self.0
    }

    /// The version as PostgreSQL stores it (`bigint`).
    pub fn as_i64(self) -> i64 {
        // `new` guarantees the value fits.
        i64::try_from(self.0).unwrap_or(i64::MAX)
    }

    /// A version read back from PostgreSQL; `None` when not positive.
    pub fn from_i64(n: i64) -> Option<Self> {
        u64::try_from(n).ok().and_then(Self::new)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_and_out_of_range_are_not_versions() {
        assert_eq!(Version::new(0), None);
        assert_eq!(Version::new(u64::MAX), None);
        assert_eq!(Version::new(7).map(Version::get), Some(7));
        assert_eq!(Version::from_i64(-1), None);
        assert_eq!(Version::from_i64(20260107153000).map(Version::as_i64), Some(20260107153000));
    }
}
