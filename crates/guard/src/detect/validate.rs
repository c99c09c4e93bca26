//! Checks that tell a real value from a look-alike: check digits and number ranges.

use std::net::{Ipv4Addr, Ipv6Addr};

/// Payment card: 13 to 19 digits (spaces and dashes between them), a known issuer prefix and a
/// valid Luhn check digit.
pub(super) fn payment_card(text: &str) -> bool {
    let digits: Vec<u32> = text.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&digits.len()) || !known_issuer(&digits) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| match i % 2 {
            0 => d,
            _ if d * 2 > 9 => d * 2 - 9,
            _ => d * 2,
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Visa, Mastercard, American Express, Discover, JCB, Diners, UnionPay and Maestro prefixes.
fn known_issuer(d: &[u32]) -> bool {
    let prefix = |n: usize| d.iter().take(n).fold(0, |acc, x| acc * 10 + x);
    d.first() == Some(&4)
        || (51..=55).contains(&prefix(2))
        || (2221..=2720).contains(&prefix(4))
        || matches!(prefix(2), 34 | 37 | 36 | 38 | 62 | 65 | 50 | 56..=58)
        || prefix(4) == 6011
        || (644..=649).contains(&prefix(3))
        || (3528..=3589).contains(&prefix(4))
        || (300..=305).contains(&prefix(3))
}

/// IBAN: a country's length and the ISO 7064 mod-97 check.
pub(super) fn iban(text: &str) -> bool {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(expected) = compact.get(..2).and_then(iban_length) else {
        return false;
    };
    if compact.len() != expected || !compact.is_ascii() {
        return false;
    }
    let (head, tail) = compact.split_at(4);
    let mut remainder: u32 = 0;
    for c in tail.chars().chain(head.chars()) {
        let value = match c {
            '0'..='9' => c as u32 - '0' as u32,
            'A'..='Z' => c as u32 - 'A' as u32 + 10,
            _ => return false,
        };
        let width = if value >= 10 { 100 } else { 10 };
        remainder = (remainder * width + value) % 97;
    }
    remainder == 1
}

/// IBAN lengths of the SEPA countries and other frequent ones.
fn iban_length(country: &str) -> Option<usize> {
    Some(match country {
        "NO" => 15,
        "BE" => 16,
        "DK" | "FI" | "FO" | "GL" | "NL" => 18,
        "MK" | "SI" => 19,
        "AT" | "BA" | "EE" | "KZ" | "LT" | "LU" | "XK" => 20,
        "CH" | "CR" | "HR" | "LI" | "LV" => 21,
        "BG" | "BH" | "DE" | "GB" | "GE" | "IE" | "ME" | "RS" => 22,
        "AE" | "IL" | "TL" => 23,
        "AD" | "CZ" | "ES" | "MD" | "PK" | "RO" | "SA" | "SE" | "SK" | "TN" | "VG" => 24,
        "PT" => 25,
        "IS" | "TR" => 26,
        "FR" | "GR" | "IT" | "MC" | "MR" | "SM" => 27,
        "AL" | "AZ" | "CY" | "DO" | "GT" | "HU" | "LB" | "PL" => 28,
        "BR" | "EG" | "PS" | "QA" | "UA" => 29,
        "JO" | "KW" | "MU" => 30,
        "MT" | "SC" => 31,
        "LC" => 32,
        _ => return None,
    })
}

/// US SSN `AAA-GG-SSSS`: area not 000, 666 or 9xx; group not 00; serial not 0000.
pub(super) fn us_ssn(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    let [area, group, serial] = parts.as_slice() else {
        return false;
    };
    !matches!(*area, "000" | "666") && !area.starts_with('9') && *group != "00" && *serial != "0000"
}

/// An IPv4 or IPv6 address. An IPv6 candidate needs three groups, or two of which one is
/// longer than two digits (or to be `::1`), so that `std::` or `a::b` in code is no address.
pub(super) fn ip_address(text: &str) -> bool {
    if text.contains(':') {
        let groups: Vec<&str> = text.split(':').filter(|g| !g.is_empty()).collect();
        let enough = groups.len() >= 3 || groups.len() == 2 && groups.iter().any(|g| g.len() >= 3);
        (enough || text == "::1") && text.parse::<Ipv6Addr>().is_ok()
    } else {
        text.parse::<Ipv4Addr>().is_ok()
    }
}

/// A phone number: 7 to 15 digits (E.164), written with a leading `+` or with separators.
pub(super) fn phone(text: &str) -> bool {
    let digits = text.chars().filter(char::is_ascii_digit).count();
    (7..=15).contains(&digits)
}

/// A token-like value: long enough, and mixing letters and digits (so that words, paths and
/// plain numbers behind a key name are not taken for secrets).
pub(super) fn secret_value(text: &str) -> bool {
    let letters = text.chars().any(|c| c.is_ascii_alphabetic());
    let digits = text.chars().any(|c| c.is_ascii_digit());
    text.len() >= 8 && letters && digits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cards_need_an_issuer_and_the_check_digit() {
        assert!(payment_card("4111 1111 1111 1111"));
        assert!(payment_card("5500-0000-0000-0004"));
        assert!(payment_card("378282246310005"));
        assert!(!payment_card("4111 1111 1111 1112"), "Luhn");
        assert!(!payment_card("1234 5678 9012 3452"), "no such issuer");
        assert!(!payment_card("4111"), "too short");
    }

    #[test]
    fn ibans_need_their_length_and_mod_97() {
        assert!(iban("DE89 3704 0044 0532 0130 00"));
        assert!(iban("GB82WEST12345698765432"));
        assert!(!iban("GB82WEST12345698765433"));
        assert!(!iban("DE89370400440532013"), "length");
        assert!(!iban("ZZ89370400440532013000"), "country");
    }

    #[test]
    fn ssns_outside_the_issued_ranges_are_not_ssns() {
        assert!(us_ssn("123-45-6789"));
        for bad in [
            "000-12-3456",
            "666-12-3456",
            "912-12-3456",
            "123-00-4567",
            "123-45-0000",
        ] {
            assert!(!us_ssn(bad), "{bad}");
        }
    }

    #[test]
    fn addresses_parse_or_are_not_addresses() {
        assert!(ip_address("192.168.1.20"));
        assert!(ip_address("2001:db8::1"));
        assert!(ip_address("fe80::1") && ip_address("::1"));
        assert!(!ip_address("10:30"));
        assert!(!ip_address("d::"), "std:: in code");
        assert!(!ip_address("999.1.1.1"));
    }
}
