//! Fingerprints (DESIGN §4): a finding's stable identity for baselines and code scanning,
//! which must not let anyone confirm a guessed secret offline faster than by guessing at
//! the provider.
//!
//! A fingerprint is scrypt(SHA-256(rule, repository-relative path, secret), salt). The
//! salt is per repository, random and kept in the baseline file, so no table computed
//! for one repository serves another; scrypt makes each guess cost the attacker what it
//! costs us (memory-hard, so a GPU gains little). The cost is set so that one fingerprint
//! takes a few milliseconds; a run computes each distinct (rule, path, secret) once, in
//! parallel, and only for findings that are reported.
//!
//! Without a baseline there is no per-repository salt to read, and fingerprints must
//! still be stable from run to run (GitHub code scanning matches alerts by them), so a
//! fixed public salt is used; the slow hash still applies. `scan --update-baseline`
//! writes a baseline with a fresh random salt, even when there is nothing to accept.

use std::collections::HashMap;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use super::Finding;

/// scrypt cost: N = 2^LOG_N, r = 8, p = 1 — 1 MiB of memory and about 4 ms per
/// fingerprint on one core of a loaded 2-core machine (release build; 8 ms at
/// LOG_N = 11, 16 ms at 12). Each guess at a secret costs an attacker the same memory
/// and time; a run pays it once per distinct (rule, path, secret) it shows or compares
/// (JSON and SARIF output, findings a baseline entry names), so a history scan with a
/// thousand distinct findings spends about two seconds on two cores, and the hook and
/// the text report next to nothing.
const LOG_N: u8 = 10;
const R: u32 = 8;
const P: u32 = 1;
/// Bytes of output: 128 bits, printed as 32 hex digits.
const LEN: usize = 16;

/// The salt of a run without a baseline: fixed, so that fingerprints are stable.
const DEFAULT_SALT: &[u8] = b"envshim-fingerprint-v2 default salt";

/// Salt bytes the baseline must hold at least (128 bits).
pub const MIN_SALT_BYTES: usize = 16;

/// A fingerprint salt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Salt(Vec<u8>);

impl Salt {
    /// The fixed salt of runs without a baseline.
    pub fn default_salt() -> Salt {
        Salt(DEFAULT_SALT.to_vec())
    }

    /// A fresh random 128-bit salt.
    pub fn random() -> anyhow::Result<Salt> {
        let mut bytes = vec![0u8; MIN_SALT_BYTES];
        getrandom::getrandom(&mut bytes)
            .map_err(|e| anyhow::anyhow!("cannot get random bytes for a salt: {e}"))?;
        Ok(Salt(bytes))
    }

    /// Parses lowercase or uppercase hex of at least 128 bits.
    pub fn from_hex(text: &str) -> Option<Salt> {
        if !text.len().is_multiple_of(2) || text.len() < 2 * MIN_SALT_BYTES || text.len() > 1024 {
            return None;
        }
        let bytes: Option<Vec<u8>> = (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
            .collect();
        bytes.map(Salt)
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a finding's fingerprint is made from. Kept in memory only (never serialised):
/// the digest is a fast hash of the secret.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct FingerprintInput {
    /// The path the fingerprint uses: repository-relative (outside git, relative to the
    /// scanned root), '/'-separated, whatever the current directory.
    pub path: String,
    /// SHA-256 of rule, path and secret: the input of the slow hash.
    digest: [u8; 32],
    /// The unsalted fingerprint of baseline format 1, to read old baselines.
    v1: String,
}

impl std::fmt::Debug for FingerprintInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FingerprintInput")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl FingerprintInput {
    /// The input for `secret` found by `rule` in `path` (repository-relative).
    pub fn new(rule: &str, path: &str, secret: &str) -> FingerprintInput {
        FingerprintInput {
            path: path.to_string(),
            digest: parts_digest(b"envshim-fingerprint-v2\0", rule, path, secret),
            v1: hex(&parts_digest(b"envshim-fingerprint-v1\0", rule, path, secret)[..16]),
        }
    }

    /// The input for a secret people choose (a password, a known value): made from the
    /// rule, the path and the place — what precedes the secret on its line, blanks
    /// folded, at most its last 80 characters — never the secret, so that no
    /// fingerprint can confirm a guessed password however cheap the guess. (A baseline
    /// entry then accepts that place: a new value written there is accepted too.) The
    /// format-1 fingerprint still comes from the secret, to read old baselines.
    pub fn for_place(rule: &str, path: &str, before: &str, secret: &str) -> FingerprintInput {
        // The same secret earlier on the line is no part of the place.
        let before = if secret.is_empty() {
            before.to_string()
        } else {
            before.replace(secret, "\0")
        };
        let folded: Vec<&str> = before.split_whitespace().collect();
        let folded = folded.join(" ");
        let start = folded.char_indices().rev().nth(79).map_or(0, |(i, _)| i);
        let place = format!("place\0{}", &folded[start..]);
        FingerprintInput {
            path: path.to_string(),
            digest: parts_digest(b"envshim-fingerprint-v2\0", rule, path, &place),
            v1: hex(&parts_digest(b"envshim-fingerprint-v1\0", rule, path, secret)[..16]),
        }
    }

    /// The format-1 fingerprint (unsalted SHA-256), only for matching old baselines.
    pub fn v1(&self) -> &str {
        &self.v1
    }
}

fn parts_digest(domain: &[u8], rule: &str, path: &str, secret: &str) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(domain);
    hash.update(rule.as_bytes());
    hash.update([0]);
    hash.update(path.as_bytes());
    hash.update([0]);
    hash.update(secret.as_bytes());
    hash.finalize().into()
}

/// The slow, salted fingerprint of one input digest.
fn slow(digest: &[u8; 32], salt: &Salt) -> String {
    let mut out = [0u8; LEN];
    // The parameters are constants inside scrypt's limits, so neither call can fail;
    // should one ever, the fingerprint degrades to a fixed-cost SHA-256, never to the
    // secret.
    match scrypt::Params::new(LOG_N, R, P, LEN) {
        Ok(params) if scrypt::scrypt(digest, &salt.0, &params, &mut out).is_ok() => hex(&out),
        _ => {
            let mut hash = Sha256::new();
            hash.update(&salt.0);
            hash.update(digest);
            hex(&hash.finalize()[..LEN])
        }
    }
}

/// Fills in the fingerprint of every finding that is `wanted` (the others keep an empty
/// one), each distinct input computed once, on up to `threads` threads (0: one per core).
pub fn assign(
    findings: &mut [Finding],
    salt: &Salt,
    threads: usize,
    wanted: impl Fn(&Finding) -> bool,
) {
    let mut distinct: Vec<[u8; 32]> = findings
        .iter()
        .filter(|f| wanted(f))
        .map(|f| f.input.digest)
        .collect();
    distinct.sort_unstable();
    distinct.dedup();
    let workers = if threads == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        threads
    }
    .clamp(1, distinct.len().max(1));
    let done: Mutex<HashMap<[u8; 32], String>> = Mutex::new(HashMap::new());
    let chunk = distinct.len().div_ceil(workers).max(1);
    std::thread::scope(|s| {
        for part in distinct.chunks(chunk) {
            let done = &done;
            s.spawn(move || {
                for digest in part {
                    let fingerprint = slow(digest, salt);
                    done.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(*digest, fingerprint);
                }
            });
        }
    });
    let done = done.into_inner().unwrap_or_else(|p| p.into_inner());
    for finding in findings.iter_mut().filter(|f| wanted(f)) {
        if let Some(fingerprint) = done.get(&finding.input.digest) {
            finding.fingerprint = fingerprint.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fingerprint(rule: &str, path: &str, secret: &str, salt: &Salt) -> String {
        slow(&FingerprintInput::new(rule, path, secret).digest, salt)
    }

    #[test]
    fn fingerprints_depend_on_rule_path_secret_and_salt() {
        let salt = Salt::default_salt();
        let a = fingerprint("r", "p", "s", &salt);
        assert_eq!(a, fingerprint("r", "p", "s", &salt));
        assert_ne!(a, fingerprint("q", "p", "s", &salt));
        assert_ne!(a, fingerprint("r", "q", "s", &salt));
        assert_ne!(a, fingerprint("r", "p", "t", &salt));
        // The three parts are kept apart: moving text from one to the next changes it.
        assert_ne!(a, fingerprint("rp", "", "s", &salt));
        assert_ne!(a, fingerprint("r", "ps", "", &salt));
        let other = Salt::random().unwrap();
        assert_ne!(a, fingerprint("r", "p", "s", &other));
        assert_eq!(a.len(), 32);
        assert!(a
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    }

    #[test]
    fn v1_fingerprints_are_the_old_formula() {
        // The value format 1 wrote for ("r", "p", "s"): kept so old baselines still match.
        let mut hash = Sha256::new();
        hash.update(b"envshim-fingerprint-v1\0r\0p\0s");
        let expected = hex(&hash.finalize()[..16]);
        assert_eq!(FingerprintInput::new("r", "p", "s").v1(), expected);
    }

    #[test]
    fn salts_are_128_bit_hex() {
        let salt = Salt::random().unwrap();
        assert_eq!(Salt::from_hex(&salt.to_hex()), Some(salt.clone()));
        assert_ne!(salt, Salt::random().unwrap());
        assert_eq!(Salt::from_hex("00ff"), None, "too short");
        assert_eq!(Salt::from_hex(&"zz".repeat(16)), None, "not hex");
    }

    #[test]
    #[ignore = "a measurement, not a check: cargo test --release -- --ignored fingerprint_cost"]
    fn fingerprint_cost() {
        let salt = Salt::random().unwrap();
        let started = std::time::Instant::now();
        for i in 0..200 {
            fingerprint("known-secret", "config/db.yml", &format!("pw{i}"), &salt);
        }
        eprintln!("{:?} per fingerprint", started.elapsed() / 200);
    }
}
