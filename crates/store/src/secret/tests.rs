use super::*;

#[test]
fn token_hash_is_sha256_hex() {
    // SHA-256("abc") from FIPS 180-2, appendix B.1.
    assert_eq!(
        TokenHash::of("abc").as_str(),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn generated_tokens_are_distinct_and_url_safe() {
    let a = OpaqueToken::generate();
    let b = OpaqueToken::generate();
    assert_ne!(a, b);
    assert_eq!(a.expose().len(), 43);
    assert!(
        a.expose()
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    );
    assert_eq!(a.hash(), TokenHash::of(a.expose()));
}

#[test]
fn debug_never_shows_the_secret() {
    let token = OpaqueToken::new("s3cret-value");
    assert!(!format!("{token:?}").contains("s3cret"));
    let hash = SecretHash::hash("s3cret-value").expect("hash");
    assert!(!format!("{hash:?}").contains("argon2id$"));
}

#[test]
fn secret_hash_is_argon2id_and_verifies() {
    let hash = SecretHash::hash("correct horse").expect("hash");
    assert!(
        hash.as_str().starts_with("$argon2id$v=19$"),
        "{}",
        hash.as_str()
    );
    assert!(hash.verify("correct horse"));
    assert!(!hash.verify("correct horse "));
    assert!(!hash.verify(""));
    // Salted: the same secret hashes differently each time.
    assert_ne!(hash, SecretHash::hash("correct horse").expect("hash"));
}

#[test]
fn from_phc_accepts_argon2id_only() {
    let hash = SecretHash::hash("pw").expect("hash");
    let again = SecretHash::from_phc(hash.as_str()).expect("round trip");
    assert!(again.verify("pw"));

    let argon2i = hash.as_str().replacen("$argon2id$", "$argon2i$", 1);
    assert!(matches!(
        SecretHash::from_phc(&argon2i),
        Err(StoreError::Invalid(_))
    ));
    assert!(SecretHash::from_phc("plain text").is_err());
}

#[test]
fn hex_encodes_every_byte() {
    assert_eq!(hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
}
