//! Tests of password hashing, bounds on stored hashes and the policy.

use super::*;

// Cost 4 keeps bcrypt tests at a few milliseconds; the format is the same as cost 13.
const FAST: u32 = 4;

#[test]
fn argon2_hash_verifies_and_wrong_password_does_not() {
    let h = hash("s3cret pass").unwrap();
    assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
    assert_eq!(scheme(&h), Ok(Scheme::Argon2id));
    assert_eq!(verify("s3cret pass", &h), Ok(true));
    assert_eq!(verify("s3cret pasS", &h), Ok(false));
    assert_eq!(verify("", &h), Ok(false));
    assert!(!needs_rehash(&h));
}

#[test]
fn two_hashes_of_one_password_differ_by_salt() {
    assert_ne!(hash("same").unwrap(), hash("same").unwrap());
}

#[test]
fn argon2_hash_with_other_parameters_verifies_with_its_own() {
    // Made by this crate with m=4096,t=1,p=1: verification must read the parameters from the
    // hash, not use the current defaults.
    let params = Params::new(4096, 1, 1, None).unwrap();
    let a = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
    let h = a.hash_password(b"pw", &salt).unwrap().to_string();
    assert_eq!(verify("pw", &h), Ok(true));
    assert_eq!(verify("pW", &h), Ok(false));
    assert!(needs_rehash(&h));
}

#[test]
fn bcrypt_hash_made_here_verifies() {
    let h = hash_bcrypt("hunter2", FAST).unwrap();
    assert!(h.starts_with("$2b$04$"), "{h}");
    assert_eq!(scheme(&h), Ok(Scheme::Bcrypt { cost: 4 }));
    assert_eq!(verify("hunter2", &h), Ok(true));
    assert_eq!(verify("hunter3", &h), Ok(false));
    assert!(needs_rehash(&h));
}

#[test]
fn bcrypt_hashes_not_made_by_this_process_verify() {
    // Written once by Python's `bcrypt` 5.0 (the Python version's library), `gensalt(4, b"2b")`.
    let upstream = "$2b$04$Yp79ZygwIlKyhyeW7hpJcOeqe0thO7LQCzKMrTfuLZXuJhP6EZSym";
    assert_eq!(verify("correct horse battery staple", upstream), Ok(true));
    assert_eq!(verify("correct horse battery stapl", upstream), Ok(false));
    // OpenBSD's own test vector, `$2a$` and cost 5.
    let openbsd = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";
    assert_eq!(verify("U*U", openbsd), Ok(true));
    assert_eq!(verify("U*V", openbsd), Ok(false));
}

#[test]
fn bcrypt_2y_prefix_is_read() {
    let h = hash_bcrypt("pw", FAST).unwrap().replacen("$2b$", "$2y$", 1);
    assert_eq!(scheme(&h), Ok(Scheme::Bcrypt { cost: 4 }));
    assert_eq!(verify("pw", &h), Ok(true));
}

#[test]
fn bcrypt_does_not_accept_a_longer_password_sharing_72_bytes() {
    let base = "a".repeat(72);
    let h = hash_bcrypt(&base, FAST).unwrap();
    assert_eq!(verify(&base, &h), Ok(true));
    // The crate itself would say yes here; ours must not.
    let longer = format!("{base}anything");
    assert!(bcrypt::verify(&longer, &h).unwrap(), "the crate truncates");
    assert_eq!(verify(&longer, &h), Ok(false));
    assert_eq!(
        hash_bcrypt(&longer, FAST),
        Err(PasswordError::TooLong { max: 72 })
    );
}

#[test]
fn hostile_argon2_parameters_are_refused_without_hashing() {
    // 4 GiB of memory: hashing this would take seconds and all the RAM; refusing is instant.
    let h = "$argon2id$v=19$m=4194304,t=3,p=4$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2g";
    let start = std::time::Instant::now();
    assert!(matches!(scheme(h), Err(PasswordError::OutOfBounds(_))));
    assert!(matches!(verify("x", h), Err(PasswordError::OutOfBounds(_))));
    assert!(start.elapsed() < std::time::Duration::from_millis(50));

    for params in [
        "m=262145,t=2,p=1",
        "m=19456,t=17,p=1",
        "m=19456,t=0,p=1",
        "m=19456,t=2,p=9",
        "m=19456,t=2,p=0",
        "m=15,t=2,p=2",
        "m=99999999999,t=2,p=1",
    ] {
        let h = format!("$argon2id$v=19${params}$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2g");
        assert!(
            matches!(scheme(&h), Err(PasswordError::OutOfBounds(_))),
            "{params}"
        );
    }
    let edge = "$argon2id$v=19$m=262144,t=16,p=8$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2g";
    assert_eq!(scheme(edge), Ok(Scheme::Argon2id));
}

#[test]
fn hostile_bcrypt_costs_are_refused() {
    let tail = "Yp79ZygwIlKyhyeW7hpJcOeqe0thO7LQCzKMrTfuLZXuJhP6EZSym";
    for cost in ["03", "18", "31", "99", "00"] {
        let h = format!("$2b${cost}${tail}");
        assert!(
            matches!(scheme(&h), Err(PasswordError::OutOfBounds(_))),
            "{cost}"
        );
        assert!(matches!(
            verify("x", &h),
            Err(PasswordError::OutOfBounds(_))
        ));
    }
    assert_eq!(
        scheme(&format!("$2b$17${tail}")),
        Ok(Scheme::Bcrypt { cost: 17 })
    );
    assert!(matches!(
        hash_bcrypt("x", 31),
        Err(PasswordError::OutOfBounds(_))
    ));
}

#[test]
fn unknown_formats_are_named_without_quoting_the_hash() {
    let cases = [
        "$5$rounds=5000$saltsalt$abcdefgh",
        "$6$saltsalt$secretlookinghashtext",
        "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2g",
        "$argon2d$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2g",
        "$argon2id$v=16$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2g",
        "$argon2id$v=19$t=2,m=19456,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2g",
        "$argon2id$v=19$m=19456,t=2,p=1,keyid=abc$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2g",
        "$argon2id$v=19$m=+19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2g",
        "$argon2id$v=19$m=19456,t=2,p=1$c2F$aGFzaGhhc2hoYXNoaGFzaGhhc2g",
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFz-Ghhc2hoYXNoaGFzaGhhc2g",
        "$2x$04$Yp79ZygwIlKyhyeW7hpJcOeqe0thO7LQCzKMrTfuLZXuJhP6EZSym",
        "$2b$04$Yp79ZygwIlKyhyeW7hpJcOeqe0thO7LQCzKMrTfuLZXuJhP6EZSy",
        "$2b$4x$Yp79ZygwIlKyhyeW7hpJcOeqe0thO7LQCzKMrTfuLZXuJhP6EZSym",
        "$2b$04$Yp79ZygwIlKyhyeW7hpJcOeqe0thO7LQCzKMrTfuLZXuJhP6EZS+m",
        "plaintext-password-typed-by-mistake",
        "",
        "$",
        "$é€$x",
    ];
    for stored in cases {
        let Err(PasswordError::UnknownFormat(msg)) = scheme(stored) else {
            panic!("{stored:?} was accepted or out of bounds");
        };
        assert!(msg.len() < 120, "{msg}");
        for word in [
            "secretlooking",
            "plaintext",
            "c2FsdHNh",
            "Yp79Zyg",
            "rounds",
        ] {
            assert!(!msg.contains(word), "{msg} quotes {word}");
        }
        assert!(matches!(
            verify("x", stored),
            Err(PasswordError::UnknownFormat(_))
        ));
    }
    assert_eq!(
        scheme("$5$rounds=5000$saltsalt$abcdefgh"),
        Err(PasswordError::UnknownFormat("starts with `$5$`".into()))
    );
}

#[test]
fn too_long_passwords_are_refused_before_hashing() {
    let long = "x".repeat(MAX_PASSWORD_BYTES + 1);
    let h = hash_bcrypt("pw", FAST).unwrap();
    assert_eq!(
        verify(&long, &h),
        Err(PasswordError::TooLong {
            max: MAX_PASSWORD_BYTES
        })
    );
    assert_eq!(
        hash(&long),
        Err(PasswordError::TooLong {
            max: MAX_PASSWORD_BYTES
        })
    );
    // The bound is inclusive.
    let max = "x".repeat(MAX_PASSWORD_BYTES);
    assert_eq!(verify(&max, &h), Ok(false));
}

#[test]
fn dummy_verify_takes_about_as_long_as_a_real_verify() {
    let h = hash("pw").unwrap();
    let start = std::time::Instant::now();
    verify("wrong", &h).unwrap();
    let real = start.elapsed();
    let start = std::time::Instant::now();
    dummy_verify("wrong");
    let dummy = start.elapsed();
    // Loose on purpose: two cores shared with other builds make timings noisy.
    assert!(
        dummy * 4 > real && dummy < real * 4,
        "{dummy:?} vs {real:?}"
    );
}

fn policy() -> Policy {
    Policy {
        min_length: 10,
        max_length: 20,
        require_digit: true,
        require_symbol: true,
    }
}

#[test]
fn policy_accepts_a_good_password() {
    assert_eq!(check_policy("correct-h0rse", &policy()), Ok(()));
    // Every ASCII punctuation mark counts as a symbol, backslash and pipe included.
    for symbol in "!@#$%^&*()_+-=[]{};:'\",.<>?/`~\\|".chars() {
        assert_eq!(
            check_policy(&format!("abcdefgh1{symbol}"), &policy()),
            Ok(()),
            "{symbol}"
        );
    }
}

#[test]
fn policy_names_everything_missing_without_the_password() {
    let err = check_policy("hunter", &policy()).unwrap_err();
    assert!(err.contains("at least 10 characters"), "{err}");
    assert!(err.contains("digit"), "{err}");
    assert!(err.contains("symbol"), "{err}");
    assert!(!err.contains("hunter"), "{err}");

    let err = check_policy("abcdefghijklmnopqrstu1!", &policy()).unwrap_err();
    assert!(err.contains("at most 20 characters"), "{err}");
    assert!(!err.contains("abcdef"), "{err}");
}

#[test]
fn policy_counts_characters_not_bytes() {
    // Ten characters, twenty bytes.
    let p = Policy {
        min_length: 10,
        max_length: 10,
        require_digit: false,
        require_symbol: false,
    };
    assert_eq!(check_policy("éééééééééé", &p), Ok(()));
    assert!(check_policy("ééééééééé", &p).is_err());
    // A non-ASCII digit or symbol does not count.
    let p = Policy {
        min_length: 0,
        max_length: 0,
        require_digit: true,
        require_symbol: true,
    };
    assert!(check_policy("٣«»", &p).is_err());
    assert_eq!(check_policy("3!", &p), Ok(()));
}
