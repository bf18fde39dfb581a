//! age encryption of the secrets file: ASCII armor on write, armor or binary on read,
//! and decryption failures sorted into the cases a user can act on.

use std::fmt;
use std::io::{Read, Write};

use age::armor::{ArmoredReader, ArmoredWriter, Format};
use age::{DecryptError, Decryptor, Encryptor, Identity, Recipient};
use zeroize::Zeroizing;

/// The first line of an ASCII-armored age file.
const ARMOR_BEGIN: &str = "-----BEGIN AGE ENCRYPTED FILE-----";
/// The first bytes of a binary age file.
const BINARY_MAGIC: &str = "age-encryption.org/";

/// Why a secrets file could not be decrypted.
#[derive(Debug)]
pub enum DecryptFailure {
    /// The file is not age ciphertext at all (most likely plaintext dotenv).
    NotEncrypted,
    /// None of the identities is a recipient of the file.
    NoMatchingIdentity,
    /// The ciphertext is truncated or was modified.
    Damaged,
    /// The file was encrypted with a passphrase, which envshim files never are.
    Passphrase,
    /// The header has more recipient stanzas than [`MAX_STANZAS`] (work would grow
    /// with their number for every identity tried).
    TooManyStanzas(usize),
}

/// Most recipient stanzas a secrets file may have: far above any team, far below the
/// count that makes decryption slow (each identity is tried against each stanza).
pub const MAX_STANZAS: usize = 1024;

impl fmt::Display for DecryptFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DecryptFailure::NotEncrypted => "the file is not age-encrypted",
            DecryptFailure::NoMatchingIdentity => "none of your identities can decrypt it",
            DecryptFailure::Damaged => "the ciphertext is truncated or has been modified",
            DecryptFailure::Passphrase => "it is encrypted with a passphrase, not to recipients",
            DecryptFailure::TooManyStanzas(_) => {
                return write!(
                    f,
                    "its header has more than {MAX_STANZAS} recipient stanzas (the limit)"
                )
            }
        })
    }
}

impl std::error::Error for DecryptFailure {}

/// True when `bytes` start like an age file (armored or binary).
pub fn looks_encrypted(bytes: &[u8]) -> bool {
    let start = bytes.trim_ascii_start();
    start.starts_with(ARMOR_BEGIN.as_bytes()) || start.starts_with(BINARY_MAGIC.as_bytes())
}

/// Decrypts an armored or binary age file.
pub fn decrypt(
    ciphertext: &[u8],
    identities: &[Box<dyn Identity>],
) -> Result<Zeroizing<Vec<u8>>, DecryptFailure> {
    if !looks_encrypted(ciphertext) {
        return Err(DecryptFailure::NotEncrypted);
    }
    // Decode the armor first, so that the header can be checked before age reads it.
    let mut decoded = Vec::with_capacity(ciphertext.len());
    ArmoredReader::new(ciphertext)
        .read_to_end(&mut decoded)
        .map_err(|_| DecryptFailure::Damaged)?;
    let stanzas = count_stanzas(&decoded);
    if stanzas > MAX_STANZAS {
        return Err(DecryptFailure::TooManyStanzas(stanzas));
    }
    let decryptor = Decryptor::new_buffered(&decoded[..]).map_err(classify)?;
    if decryptor.is_scrypt() {
        return Err(DecryptFailure::Passphrase);
    }
    let mut reader = decryptor
        .decrypt(identities.iter().map(|i| i.as_ref() as &dyn Identity))
        .map_err(classify)?;
    let mut plaintext = Zeroizing::new(Vec::with_capacity(ciphertext.len()));
    reader
        .read_to_end(&mut plaintext)
        .map_err(|_| DecryptFailure::Damaged)?;
    Ok(plaintext)
}

/// The number of `-> ` stanza lines in a binary age header (up to its `---` line).
fn count_stanzas(file: &[u8]) -> usize {
    let mut count = 0;
    for line in file.split(|&b| b == b'\n') {
        if line.starts_with(b"---") {
            break;
        }
        if line.starts_with(b"-> ") {
            count += 1;
        }
    }
    count
}

fn classify(err: DecryptError) -> DecryptFailure {
    match err {
        DecryptError::NoMatchingKeys => DecryptFailure::NoMatchingIdentity,
        _ => DecryptFailure::Damaged,
    }
}

/// Encrypts `plaintext` to `recipients` as ASCII-armored age.
pub fn encrypt(
    plaintext: &[u8],
    recipients: &[Box<dyn Recipient + Send>],
) -> anyhow::Result<Vec<u8>> {
    let encryptor =
        Encryptor::with_recipients(recipients.iter().map(|r| r.as_ref() as &dyn Recipient))
            .map_err(|e| anyhow::anyhow!("cannot encrypt to these recipients: {e}"))?;
    let mut out = Vec::with_capacity(plaintext.len() * 2 + 512);
    let armor = ArmoredWriter::wrap_output(&mut out, Format::AsciiArmor)?;
    let mut writer = encryptor.wrap_output(armor)?;
    writer.write_all(plaintext)?;
    writer.finish()?.finish()?;
    Ok(out)
}
