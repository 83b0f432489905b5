//! Property tests of org id validation and schema naming: no input makes `OrgId::new` panic, what
//! it accepts is what the README promises, and every accepted id has a `tid_` + 10 hex schema.

use proptest::prelude::*;
use sha2::{Digest, Sha256};
use tenantctl_engine::{OrgId, SchemaNaming};

/// Strings near the edges of the rules: padding, controls, format characters, lengths around 255.
fn near_valid() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ \t\u{a0}\u{3000}]?[a-zA-Z0-9 '\";$%_-]{0,20}[ \t\u{a0}]?",
        "\\PC{250,260}",
        "[a-z]{0,5}[\u{0}-\u{1f}\u{7f}-\u{9f}\u{ad}\u{200b}-\u{200f}\u{202a}-\u{202e}\u{2060}-\u{2064}\u{feff}][a-z]{0,5}",
        "(é|e\u{301}|東|🦀|\u{10ffff}){0,300}",
    ]
}

/// Characters of Unicode category Cc or Cf, as the regex engine behind proptest knows them.
fn with_control_or_format() -> impl Strategy<Value = (String, char)> {
    ("[a-z]{0,5}", "\\p{Cc}|\\p{Cf}", "[a-z]{0,5}").prop_map(|(head, c, tail)| {
        let c = c.chars().next().expect("one character");
        (format!("{head}{c}{tail}"), c)
    })
}

/// The promised shape of an accepted org id, checked without the validator's own tables.
fn acceptable(raw: &str) -> bool {
    let chars = raw.chars().count();
    (1..=255).contains(&chars)
        && !raw.chars().any(char::is_control)
        && raw.chars().next().is_some_and(|c| !c.is_whitespace())
        && raw.chars().last().is_some_and(|c| !c.is_whitespace())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn org_id_new_never_panics_and_accepts_only_what_the_readme_allows(raw in near_valid()) {
        if let Ok(org) = OrgId::new(&raw) {
            prop_assert!(acceptable(&raw), "accepted {:?}", raw);
            prop_assert_eq!(org.as_str(), raw.as_str(), "taken byte for byte");
        }
    }

    #[test]
    fn every_control_or_format_character_is_refused((raw, c) in with_control_or_format()) {
        prop_assert!(OrgId::new(&raw).is_err(), "accepted {:?} holding U+{:04X}", raw, c as u32);
    }

    #[test]
    fn plain_ids_of_1_to_255_characters_are_accepted(raw in "[a-zA-Z0-9][a-zA-Z0-9 ._'\";$-]{0,253}[a-zA-Z0-9]") {
        prop_assert!(OrgId::new(&raw).is_ok(), "refused {:?}", raw);
    }

    #[test]
    fn the_standard_schema_is_tid_and_10_lowercase_hex_digits_of_the_sha256(raw in near_valid()) {
        if let Ok(org) = OrgId::new(&raw) {
            let schema = SchemaNaming::standard().schema_for(&org);
            let name = schema.as_str();
            prop_assert_eq!(name.len(), 14, "{}", name);
            prop_assert!(name.starts_with("tid_"), "{}", name);
            prop_assert!(name[4..].bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)), "{}", name);
            let digest: String = Sha256::digest(raw.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
            prop_assert_eq!(&name[4..], &digest[..10]);
        }
    }
}
