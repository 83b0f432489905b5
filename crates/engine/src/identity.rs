//! Tenant identity: validated org ids, and the schema names derived from them.
//! `SchemaName` is the one place an identifier is quoted for SQL.

use std::fmt;

use sha2::{Digest, Sha256};

/// PostgreSQL's identifier limit (NAMEDATALEN - 1), in bytes.
const MAX_IDENTIFIER_BYTES: usize = 63;
/// Longest org id accepted, in characters.
const MAX_ORG_ID_CHARS: usize = 255;

/// An external organisation id: 1 to 255 Unicode scalar values, none of category Cc or Cf,
/// no leading or trailing white space. Taken byte for byte (no normalisation).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct OrgId(String);

/// Why a string is not an org id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrgIdError {
    /// Nothing at all.
    #[error("org id is empty")]
    Empty,
    /// More than 255 characters.
    #[error("org id is {0} characters long; the limit is 255")]
    TooLong(usize),
    /// A control or format character (Unicode Cc/Cf), such as NUL, a newline or a zero-width space.
    #[error("org id contains the control or format character U+{0:04X} at character {1}")]
    ControlCharacter(u32, usize),
    /// White space at either end.
    #[error("org id has leading or trailing white space")]
    Padded,
}

impl OrgId {
    /// Validates an org id.
    pub fn new(raw: &str) -> Result<Self, OrgIdError> {
        if raw.is_empty() {
            return Err(OrgIdError::Empty);
        }
        let chars = raw.chars().count();
        if chars > MAX_ORG_ID_CHARS {
            return Err(OrgIdError::TooLong(chars));
        }
        if let Some((at, c)) = raw.chars().enumerate().find(|(_, c)| is_control_or_format(*c)) {
            return Err(OrgIdError::ControlCharacter(c as u32, at + 1));
        }
        if raw.trim() != raw {
            return Err(OrgIdError::Padded);
        }
        Ok(Self(raw.to_owned()))
    }

    /// An org id read back from the registry, where it was validated on the way in.
    pub(crate) fn from_registry(raw: String) -> Self {
        Self(raw)
    }

    /// The id as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Unicode general categories Cc (controls) and Cf (format characters).
fn is_control_or_format(c: char) -> bool {
    if c.is_control() {
        return true;
    }
    // Cf, from the Unicode Character Database (DerivedGeneralCategory.txt, Unicode 15).
    matches!(c as u32,
        0x00AD | 0x0600..=0x0605 | 0x061C | 0x06DD | 0x070F | 0x0890..=0x0891 | 0x08E2 | 0x180E
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F | 0xFEFF
        | 0xFFF9..=0xFFFB | 0x110BD | 0x110CD | 0x13430..=0x1343F | 0x1BCA0..=0x1BCA3
        | 0x1D173..=0x1D17A | 0xE0001 | 0xE0020..=0xE007F)
}

/// A tenant schema name, validated as a plain lowercase identifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct SchemaName(String);

impl SchemaName {
    /// Accepts names of the form `[a-z_][a-z0-9_]*` up to 63 bytes, as stored in the registry.
    pub fn new(name: &str) -> Option<Self> {
        let mut chars = name.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_');
        let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        (first_ok && rest_ok && name.len() <= MAX_IDENTIFIER_BYTES).then(|| Self(name.to_owned()))
    }

    /// The bare name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name quoted as an SQL identifier. Validation already excludes quotes; quoting anyway keeps
    /// keywords (a prefix like `user_`) and future relaxations safe.
    pub fn quoted(&self) -> String {
        quote_ident(&self.0)
    }
}

impl fmt::Display for SchemaName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Quotes any identifier for SQL (doubling embedded quotes): the one place identifiers are quoted.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// How schema names are derived from org ids: `<prefix><first hash_len hex digits of SHA-256(org_id)>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaNaming {
    prefix: String,
    hash_len: usize,
}

/// A naming configuration that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NamingError {
    /// The prefix is not `[a-z_][a-z0-9_]*`.
    #[error("schema_prefix `{0}` must match [a-z_][a-z0-9_]*")]
    BadPrefix(String),
    /// The hash length is outside 4..=32.
    #[error("schema_hash_len {0} must be between 4 and 32")]
    BadHashLen(usize),
    /// Prefix and hash exceed PostgreSQL's identifier limit.
    #[error(
        "schema_prefix `{prefix}` plus {hash_len} hash digits is {total} bytes; PostgreSQL's limit is 63 (shorten the prefix)"
    )]
    TooLong {
        /// The prefix.
        prefix: String,
        /// The hash length.
        hash_len: usize,
        /// Their total length.
        total: usize,
    },
}

impl SchemaNaming {
    /// The default: `tid_` and 10 hex digits.
    pub fn standard() -> Self {
        Self { prefix: "tid_".to_owned(), hash_len: 10 }
    }

    /// A validated naming configuration.
    pub fn new(prefix: &str, hash_len: usize) -> Result<Self, NamingError> {
        if SchemaName::new(prefix).is_none() {
            return Err(NamingError::BadPrefix(prefix.to_owned()));
        }
        if !(4..=32).contains(&hash_len) {
            return Err(NamingError::BadHashLen(hash_len));
        }
        let total = prefix.len() + hash_len;
        if total > MAX_IDENTIFIER_BYTES {
            return Err(NamingError::TooLong { prefix: prefix.to_owned(), hash_len, total });
        }
        Ok(Self { prefix: prefix.to_owned(), hash_len })
    }

    /// The prefix of every tenant schema.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The schema for an org.
    pub fn schema_for(&self, org: &OrgId) -> SchemaName {
        let digest = hex::encode(Sha256::digest(org.as_str().as_bytes()));
        SchemaName(format!("{}{}", self.prefix, &digest[..self.hash_len]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn org_ids_are_validated() {
        assert!(OrgId::new("acme-corp").is_ok());
        assert!(OrgId::new("Ünïcødé 東京 'quoted'; drop table x; $$").is_ok());
        assert_eq!(OrgId::new(""), Err(OrgIdError::Empty));
        assert_eq!(OrgId::new(&"x".repeat(256)), Err(OrgIdError::TooLong(256)));
        assert!(OrgId::new(&"é".repeat(255)).is_ok());
        assert!(matches!(OrgId::new("a\0b"), Err(OrgIdError::ControlCharacter(0, 2))));
        assert!(matches!(OrgId::new("a\nb"), Err(OrgIdError::ControlCharacter(10, 2))));
        assert!(matches!(OrgId::new("a\u{200B}b"), Err(OrgIdError::ControlCharacter(0x200B, 2))));
        assert_eq!(OrgId::new(" acme"), Err(OrgIdError::Padded));
    }

    #[test]
    fn schema_names_come_from_the_hash() {
        let org = OrgId::new("acme-corp").unwrap();
        let name = SchemaNaming::standard().schema_for(&org);
        let expected = &hex::encode(Sha256::digest(b"acme-corp"))[..10];
        assert_eq!(name.as_str(), format!("tid_{expected}"));
        assert_eq!(name.quoted(), format!("\"tid_{expected}\""));
    }

    #[test]
    fn naming_limits() {
        assert!(matches!(SchemaNaming::new("Tid_", 10), Err(NamingError::BadPrefix(_))));
        assert!(matches!(SchemaNaming::new("t_", 3), Err(NamingError::BadHashLen(3))));
        assert!(matches!(SchemaNaming::new(&"p".repeat(40), 32), Err(NamingError::TooLong { total: 72, .. })));
        assert!(SchemaNaming::new(&"p".repeat(31), 32).is_ok());
    }
}
