//! Detector corpora: for each class, real-shaped positives and hard negatives (look-alikes that
//! must not be taken for it). The run prints precision and recall per class and fails below the
//! floors: 1.0 precision for credentials and checked numbers (a check digit, a fixed prefix or a
//! key name makes a false positive a bug), 0.9 for the shape-only classes (email, phone, IP),
//! and 0.95 recall everywhere.

use std::collections::BTreeMap;

use super::*;

/// (expected class, text). `None`: a hard negative, nothing may be found.
const CORPUS: &[(Option<Class>, &str)] = &[
    // Payment cards: Luhn-valid numbers of real issuers, in the ways people write them.
    (
        Some(Class::PaymentCard),
        "Charge 4111 1111 1111 1111 for the order.",
    ),
    (Some(Class::PaymentCard), "card=5500-0000-0000-0004"),
    (Some(Class::PaymentCard), "Amex 378282246310005 on file"),
    (Some(Class::PaymentCard), "Discover: 6011111111111117"),
    (Some(Class::PaymentCard), "card no. 3530111333300000 (JCB)"),
    (None, "Order number 1234 5678 9012 3456 shipped."),
    (None, "Tracking 4111 1111 1111 1112 failed Luhn"),
    (None, "timestamp 1700000000000 ms"),
    (None, "commit 9fceb02d0ae598e95dc970b74767f19372d61af8"),
    (None, "uuid 550e8400-e29b-41d4-a716-446655440000"),
    // IBANs.
    (
        Some(Class::Iban),
        "Pay to DE89 3704 0044 0532 0130 00 today",
    ),
    (Some(Class::Iban), "IBAN: GB82WEST12345698765432"),
    (
        Some(Class::Iban),
        "FR1420041010050500013M02606 is the account",
    ),
    (None, "Model DE12345678901234567890 is a part number"),
    (None, "GB82WEST12345698765433 has a wrong check"),
    // US SSNs.
    (Some(Class::UsSsn), "SSN 123-45-6789 on the form"),
    (Some(Class::UsSsn), "ssn: 078-05-1121"),
    (None, "part 000-12-3456 is not issued"),
    (None, "ref 666-12-3456"),
    (None, "call 900-55-1234 ext"),
    (None, "date 2024-01-15 and 2025-12-31"),
    // E-mail.
    (
        Some(Class::Email),
        "Write to alice.smith+crm@example.co.uk please",
    ),
    (Some(Class::Email), "from: ops@mail.internal.example.com"),
    (None, "the decorator @property and @staticmethod"),
    (None, "npm install @modelcontextprotocol/sdk@1.2.3"),
    // Phones.
    (Some(Class::Phone), "Call +1 415 555 2671 tomorrow"),
    (Some(Class::Phone), "Tel: (020) 7946 0958"),
    (Some(Class::Phone), "mobile +447911123456"),
    (Some(Class::Phone), "office 030-1234-5678"),
    (None, "version 1.2.3 and 10.4.1"),
    (None, "the year 2024 had 366 days"),
    (None, "price 12.50 EUR"),
    // IP addresses.
    (
        Some(Class::IpAddress),
        "connected from 203.0.113.42 at noon",
    ),
    (
        Some(Class::IpAddress),
        "peer 2001:db8:85a3::8a2e:370:7334 closed",
    ),
    (Some(Class::IpAddress), "listen on fe80::1"),
    (Some(Class::IpAddress), "gateway 10.100.200.1 answered"),
    (None, "std::vector<int> and a::b"),
    (None, "meeting at 10:30:00"),
    (None, "version 300.1.2.3"),
    // AWS.
    (
        Some(Class::AwsKey),
        "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
    ),
    (
        Some(Class::AwsKey),
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ),
    (None, "AKIA is a prefix, AKIAshort is not a key"),
    // GCP, Azure.
    (
        Some(Class::GcpKey),
        "key=AIzaSyA1B2C3D4E5F6G7H8I9J0KLMNOPQRSTUVW",
    ),
    (
        Some(Class::AzureKey),
        "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFy==;",
    ),
    (
        Some(Class::AzureKey),
        "client secret abc8Q~Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9v",
    ),
    (None, "AIza alone is nothing"),
    // GitHub, GitLab, Slack, Stripe, OpenAI.
    (
        Some(Class::GithubToken),
        "token ghp_0123456789abcdefghijABCDEFGHIJ012345",
    ),
    (
        Some(Class::GithubToken),
        "GH_TOKEN=ghs_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij",
    ),
    (Some(Class::GitlabToken), "glpat-abcdefghij0123456789 in CI"),
    (
        Some(Class::SlackToken),
        "SLACK_BOT_TOKEN=xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    ),
    (Some(Class::StripeKey), "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
    (
        Some(Class::OpenaiKey),
        "OPENAI_API_KEY sk-proj-abcDEF123ghiJKL456mnoPQR789stuVWX012yz",
    ),
    (
        None,
        "the ghp_ prefix marks GitHub tokens; sk_live_ marks Stripe ones",
    ),
    (
        None,
        "a sk-learn tutorial about sk-xgboost-compatible-estimators",
    ),
    // Private keys and JWTs.
    (
        Some(Class::PrivateKey),
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7bq0jZ0pKm9Yc0n\nd3Jvbmcga2V5IGhlcmU=\n-----END RSA PRIVATE KEY-----",
    ),
    (
        Some(Class::PrivateKey),
        "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIKo3dGVzdGtleXRlc3RrZXl0ZXN0\n-----END PRIVATE KEY-----",
    ),
    (
        None,
        "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----",
    ),
    (
        Some(Class::Jwt),
        "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    ),
    (None, "base64 eyJ is how JSON starts: eyJhbGciOi"),
    // Secrets behind key names.
    (Some(Class::NamedSecret), "db password=Tr0ub4dor&3x"),
    (
        Some(Class::NamedSecret),
        "{\"api_key\": \"a1b2c3d4e5f6g7h8\"}",
    ),
    (
        Some(Class::NamedSecret),
        "client_secret: 9f8e7d6c5b4a3f2e1d0c",
    ),
    (None, "the password field is required"),
    (None, "password: ********"),
    (None, "secret = \"<your secret here>\""),
    // An article about prompt injection and secrets, with nothing real in it.
    (
        None,
        "Attackers hide instructions in tool output; never paste an API key or a password into a chat.",
    ),
];

#[test]
fn corpus_precision_and_recall_per_class() {
    let detector = Detector::new(&[]).expect("detector");
    let mut tally: BTreeMap<&str, (u32, u32, u32)> = BTreeMap::new(); // (tp, fp, fn)
    let mut misses = Vec::new();
    for (expected, text) in CORPUS {
        let found = detector.scan(text);
        for f in &found {
            let entry = tally.entry(f.class.name()).or_default();
            if Some(f.class) == *expected {
                entry.0 += 1;
            } else {
                entry.1 += 1;
                misses.push(format!("false {}: {text:?}", f.class.name()));
            }
        }
        if let Some(class) = expected
            && !found.iter().any(|f| f.class == *class)
        {
            tally.entry(class.name()).or_default().2 += 1;
            misses.push(format!("missed {}: {text:?}", class.name()));
        }
    }
    println!("{:<14} {:>9} {:>7}", "class", "precision", "recall");
    let mut below = Vec::new();
    for class in Class::BUILT_IN {
        let (tp, fp, fn_) = tally.get(class.name()).copied().unwrap_or_default();
        assert!(tp + fn_ > 0, "no positive example of {}", class.name());
        let precision = f64::from(tp) / f64::from((tp + fp).max(1));
        let recall = f64::from(tp) / f64::from(tp + fn_);
        println!("{:<14} {precision:>9.2} {recall:>7.2}", class.name());
        let floor = match class {
            Class::Email | Class::Phone | Class::IpAddress => 0.9,
            _ => 1.0,
        };
        if precision < floor || recall < 0.95 {
            below.push(class.name());
        }
    }
    assert!(
        below.is_empty(),
        "below the floors: {below:?}\n{}",
        misses.join("\n")
    );
}

#[test]
fn a_secret_behind_a_key_name_is_masked_not_its_name() {
    let d = Detector::new(&[]).expect("detector");
    let text = "password=Tr0ub4dor3x!";
    let found = d.scan(text);
    assert_eq!(found.len(), 1);
    assert_eq!(&text[found[0].start..found[0].end], "Tr0ub4dor3x!");
}

#[test]
fn custom_patterns_have_their_names_and_bad_ones_are_refused() {
    let d = Detector::new(&[("employee_id".into(), r"\bEMP-\d{6}\b".into())]).expect("ok");
    let found = d.scan("badge EMP-004217");
    assert_eq!(found.len(), 1);
    assert_eq!(d.class_name(found[0].class), "employee_id");
    let err = Detector::new(&[("broken".into(), "(unclosed".into())]).expect_err("refused");
    assert_eq!(err.name, "broken");
}

#[test]
fn large_and_adversarial_inputs_stay_linear() {
    let d = Detector::new(&[]).expect("detector");
    // Long runs that start many candidates: digits, dashes, hex with colons, key names.
    for text in [
        "1-".repeat(100_000),
        "a:".repeat(100_000),
        "password=".repeat(20_000),
        "-----BEGIN PRIVATE KEY-----".repeat(5_000),
        "x".repeat(300_000),
    ] {
        let started = std::time::Instant::now();
        let _ = d.scan(&text);
        // Not a timing test of speed (that is the criterion bench): a quadratic pattern
        // would take minutes here, not milliseconds.
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{}",
            &text[..20]
        );
    }
}
