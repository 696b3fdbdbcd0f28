//! Tests of signed tokens, CSRF tokens and generations.

use super::*;
use proptest::prelude::*;

fn claims() -> Claims {
    Claims {
        sub: "alice".into(),
        role: "admin".into(),
        sid: "sid-1".into(),
        iat: 1_700_000_000,
        exp: Some(1_700_003_600),
        r#gen: "abcdefghijklmnop".into(),
    }
}

fn signer() -> Signer {
    Signer::new(b"0123456789abcdef0123456789abcdef")
}

const NOW: u64 = 1_700_000_100;

#[test]
fn header_constant_is_hs256_jwt() {
    let json = URL_SAFE_NO_PAD.decode(HEADER).unwrap();
    assert_eq!(json, br#"{"alg":"HS256","typ":"JWT"}"#);
}

#[test]
fn keyed_matches_rfc_4231() {
    // Test case 1: a short key, zero-padded.
    let mac = keyed(&[0x0b; 20]);
    assert_eq!(
        rng::hex(&tag(&mac, &[b"Hi There"])),
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
    );
    // Test case 6: a 131-byte key, hashed first.
    let mac = keyed(&[0xaa; 131]);
    assert_eq!(
        rng::hex(&tag(
            &mac,
            &[b"Test Using Larger Than Block-Size Key - Hash Key First"]
        )),
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
    );
}

#[test]
fn sign_then_verify_round_trips() {
    let s = signer();
    let token = s.sign(&claims());
    assert_eq!(token.split('.').count(), 3);
    assert!(token.starts_with(HEADER));
    assert_eq!(s.verify(&token, NOW), Ok(claims()));
    // `r#gen` is `gen` on the wire (a reserved word in Rust 2024, not in JSON).
    let payload = URL_SAFE_NO_PAD
        .decode(token.split('.').nth(1).unwrap())
        .unwrap();
    assert!(
        String::from_utf8(payload)
            .unwrap()
            .contains(r#""gen":"abcdefghijklmnop""#)
    );

    let forever = Claims {
        exp: None,
        ..claims()
    };
    let token = s.sign(&forever);
    let payload = URL_SAFE_NO_PAD
        .decode(token.split('.').nth(1).unwrap())
        .unwrap();
    assert!(!String::from_utf8(payload).unwrap().contains("exp"));
    assert_eq!(s.verify(&token, u64::MAX), Ok(forever));
}

#[test]
fn expired_tokens_are_refused() {
    let s = signer();
    let token = s.sign(&claims());
    let exp = claims().exp.unwrap();
    assert_eq!(s.verify(&token, exp - 1), Ok(claims()));
    assert_eq!(s.verify(&token, exp), Err(TokenError::Expired));
    assert_eq!(s.verify(&token, exp + 1), Err(TokenError::Expired));
}

#[test]
fn another_secret_does_not_verify() {
    let token = signer().sign(&claims());
    let other = Signer::new(b"another secret entirely, 32 byte");
    assert_eq!(other.verify(&token, NOW), Err(TokenError::BadSignature));
}

#[test]
fn alg_none_and_other_headers_are_refused() {
    let s = signer();
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims()).unwrap());
    for header in [
        r#"{"alg":"none","typ":"JWT"}"#,
        r#"{"alg":"None"}"#,
        r#"{"alg":"HS512","typ":"JWT"}"#,
        r#"{"alg":"RS256","typ":"JWT"}"#,
        r#"{"typ":"JWT","alg":"HS256"}"#,
    ] {
        let header = URL_SAFE_NO_PAD.encode(header);
        for signature in ["", "x"] {
            let token = format!("{header}.{payload}.{signature}");
            assert_eq!(s.verify(&token, NOW), Err(TokenError::Malformed), "{token}");
        }
        // Even with a valid HMAC over that header the header itself is refused.
        let signing_input = format!("{header}.{payload}");
        let sig = URL_SAFE_NO_PAD.encode(tag(&s.session, &[signing_input.as_bytes()]));
        assert_eq!(
            s.verify(&format!("{signing_input}.{sig}"), NOW),
            Err(TokenError::Malformed)
        );
    }
}

#[test]
fn tampered_payload_is_a_bad_signature() {
    let s = signer();
    let token = s.sign(&claims());
    let mut parts: Vec<&str> = token.split('.').collect();
    let admin = URL_SAFE_NO_PAD.encode(
        serde_json::to_vec(&Claims {
            sub: "mallory".into(),
            ..claims()
        })
        .unwrap(),
    );
    parts[1] = &admin;
    assert_eq!(
        s.verify(&parts.join("."), NOW),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn malformed_shapes_are_refused() {
    let s = signer();
    let token = s.sign(&claims());
    for bad in [
        String::new(),
        ".".into(),
        "..".into(),
        "a.b.c.d".into(),
        format!("{token}."),
        format!("{token}="),
        token.replacen('.', "", 1),
        format!("{}.{}", HEADER, "x".repeat(MAX_TOKEN_BYTES)),
    ] {
        assert!(s.verify(&bad, NOW).is_err(), "{bad}");
    }
    // A signed payload that is not our JSON is malformed, but only after the signature.
    let payload = URL_SAFE_NO_PAD.encode(br#"{"sub":"x"}"#);
    let input = format!("{HEADER}.{payload}");
    let sig = URL_SAFE_NO_PAD.encode(tag(&s.session, &[input.as_bytes()]));
    assert_eq!(
        s.verify(&format!("{input}.{sig}"), NOW),
        Err(TokenError::Malformed)
    );
}

#[test]
fn csrf_is_bound_to_the_session() {
    let s = signer();
    let t = s.csrf("sid-1");
    assert_eq!(t.len(), 43);
    assert!(s.csrf_ok("sid-1", &t));
    assert!(!s.csrf_ok("sid-2", &t));
    assert!(!s.csrf_ok("sid-1", ""));
    assert!(!s.csrf_ok("sid-1", &t[..42]));
    assert!(!s.csrf_ok("sid-1", &format!("{t}A")));
    assert!(!Signer::new(b"other").csrf_ok("sid-1", &t));
}

#[test]
fn subkeys_are_independent() {
    let s = signer();
    // The CSRF token of a string is not the session signature of that string.
    assert_ne!(
        s.csrf("x"),
        URL_SAFE_NO_PAD.encode(tag(&s.session, &[b"x"]))
    );
    assert_ne!(s.generation("x"), s.csrf("x")[..16]);
}

#[test]
fn generation_changes_with_the_password_hash() {
    let s = signer();
    let a = s.generation("$argon2id$v=19$m=19456,t=2,p=1$aaaa$bbbb");
    let b = s.generation("$argon2id$v=19$m=19456,t=2,p=1$aaaa$bbbc");
    assert_eq!(a.len(), 16);
    assert_ne!(a, b);
    assert_eq!(a, s.generation("$argon2id$v=19$m=19456,t=2,p=1$aaaa$bbbb"));
    assert_ne!(
        a,
        Signer::new(b"other").generation("$argon2id$v=19$m=19456,t=2,p=1$aaaa$bbbb")
    );
    assert!(s.generation_ok("$argon2id$v=19$m=19456,t=2,p=1$aaaa$bbbb", &a));
    assert!(!s.generation_ok("$argon2id$v=19$m=19456,t=2,p=1$aaaa$bbbb", &b));
}

#[test]
fn debug_does_not_print_keys() {
    let text = format!("{:?}", signer());
    assert_eq!(text, "Signer { keys: <redacted> }");
}

#[test]
fn random_values_have_their_shapes() {
    let a = random_id();
    assert_eq!(a.len(), 22);
    assert!(
        a.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert_ne!(a, random_id());
    let k = random_secret();
    assert_eq!(k.len(), 64);
    assert!(k.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
    assert_ne!(k, random_secret());
}

proptest! {
    #[test]
    fn verify_never_panics(token in ".{0,300}", now in any::<u64>()) {
        let _ = signer().verify(&token, now);
    }

    #[test]
    fn verify_never_panics_on_token_shaped_input(
        header in "[A-Za-z0-9_=-]{0,60}",
        payload in "[A-Za-z0-9_=+/-]{0,200}",
        signature in "[A-Za-z0-9_=-]{0,60}",
    ) {
        let s = signer();
        let _ = s.verify(&format!("{header}.{payload}.{signature}"), NOW);
        let _ = s.verify(&format!("{HEADER}.{payload}.{signature}"), NOW);
        let _ = s.csrf_ok(&payload, &signature);
    }

    #[test]
    fn round_trip(
        sub in ".{0,40}",
        role in "[a-z]{0,10}",
        sid in "[A-Za-z0-9_-]{0,30}",
        iat in any::<u64>(),
        exp in proptest::option::of(any::<u64>()),
        r#gen in ".{0,20}",
    ) {
        let c = Claims { sub, role, sid, iat, exp, r#gen };
        let s = signer();
        let token = s.sign(&c);
        match c.exp {
            Some(0) => prop_assert_eq!(s.verify(&token, 0), Err(TokenError::Expired)),
            Some(exp) => prop_assert_eq!(s.verify(&token, exp - 1), Ok(c)),
            None => prop_assert_eq!(s.verify(&token, u64::MAX), Ok(c)),
        }
    }

    #[test]
    fn flipping_any_byte_fails(index in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let s = signer();
        let token = s.sign(&claims());
        let mut bytes = token.into_bytes();
        let i = index.index(bytes.len());
        bytes[i] ^= flip;
        // A flip may make invalid UTF-8, which a header value could not carry anyway.
        if let Ok(t) = String::from_utf8(bytes) {
            prop_assert!(s.verify(&t, NOW).is_err());
        }
    }
}

#[test]
fn flipping_every_byte_fails() {
    // Exhaustive over positions for one token, with the lowest bit (the flip most likely to
    // stay inside the base64 alphabet).
    let s = signer();
    let token = s.sign(&claims());
    for i in 0..token.len() {
        let mut bytes = token.clone().into_bytes();
        bytes[i] ^= 1;
        let t = String::from_utf8(bytes).unwrap();
        assert!(s.verify(&t, NOW).is_err(), "byte {i}");
    }
}
