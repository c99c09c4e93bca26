use super::*;

#[test]
fn parse_sorts_and_deduplicates() {
    let scopes = Scopes::parse("orders:write  orders:read orders:write").expect("parse");
    assert_eq!(scopes.to_stored(), "orders:read orders:write");
    assert_eq!(
        Scopes::from_stored(&scopes.to_stored()).expect("reparse"),
        scopes
    );
}

#[test]
fn rejects_characters_rfc_6749_forbids() {
    assert!(Scopes::parse("a\"b").is_err());
    assert!(Scopes::parse("a\\b").is_err());
    assert!(Scopes::from_tokens(["tab\there"]).is_err());
    assert!(Scopes::from_tokens([""]).is_err());
}

#[test]
fn covers_is_subset() {
    let granted = Scopes::parse("a b c").expect("parse");
    assert!(granted.covers(&Scopes::parse("a c").expect("parse")));
    assert!(granted.covers(&Scopes::empty()));
    assert!(!granted.covers(&Scopes::parse("a d").expect("parse")));
}

#[test]
fn empty_round_trips_as_empty_text() {
    assert_eq!(Scopes::empty().to_stored(), "");
    assert!(Scopes::from_stored("").expect("parse").is_empty());
}

#[test]
fn serializes_as_a_list() {
    let scopes = Scopes::parse("b a").expect("parse");
    assert_eq!(
        serde_json::to_string(&scopes).expect("json"),
        r#"["a","b"]"#
    );
}
