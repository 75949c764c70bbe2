//! Signed checkpoints of the Merkle log, in the C2SP formats that Go's `sumdb/note` and the
//! transparency logs built on it read: a **signed note** (text, a blank line, then one line
//! per signature `— <name> base64(key id ‖ Ed25519 signature)`) whose text is a
//! **tlog checkpoint** (origin, tree size, base64 root, then extension lines; ours is
//! `time <unix ms>`). Keys are written as Go writes them: a verifier key
//! `<name>+<key id hex>+base64(0x01 ‖ public key)` and a signer key
//! `PRIVATE+KEY+<name>+<key id hex>+base64(0x01 ‖ seed)`; the key id is the first four bytes
//! of `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)`. Verification uses `verify_strict`.
//! Pure: the caller supplies the random seed of a new key.

use super::merkle::Hash;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// The algorithm byte of Ed25519 keys in C2SP signed notes.
const ED25519: u8 = 0x01;

/// What is wrong with a key, a note or a checkpoint, in words a reviewer can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("malformed key: {0}")]
    Key(String),
    #[error("malformed signed note: {0}")]
    Note(String),
    #[error("the note is signed only by keys the district does not hold ({0})")]
    UnknownKey(String),
    #[error("the signature of {0} does not verify: the note was changed after it was signed, or forged")]
    BadSignature(String),
    #[error("malformed checkpoint: {0}")]
    Checkpoint(String),
}

fn key_id(name: &str, public: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([ED25519]);
    h.update(public);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('+') && !name.chars().any(char::is_whitespace)
}

/// Splits `<name>+<hex id>+<base64 key>` and checks the id against the key.
fn parse_key(text: &str) -> Result<(String, u32, [u8; 32]), NoteError> {
    let bad = |m: &str| NoteError::Key(m.to_owned());
    let mut parts = text.splitn(3, '+');
    let (Some(name), Some(id), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad("want <name>+<key id>+<key>"));
    };
    if !valid_name(name) {
        return Err(bad("the name is empty or has '+' or spaces"));
    }
    if id.len() != 8 || !id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(bad("the key id is not 8 lower-case hex digits"));
    }
    let id = u32::from_str_radix(id, 16).map_err(|_| bad("the key id is not hex"))?;
    let raw = B64.decode(b64).map_err(|_| bad("the key is not base64"))?;
    let [alg, rest @ ..] = raw.as_slice() else { return Err(bad("the key is empty")) };
    if *alg != ED25519 {
        return Err(bad("not an Ed25519 key"));
    }
    let key: [u8; 32] = rest.try_into().map_err(|_| bad("an Ed25519 key has 32 bytes"))?;
    Ok((name.to_owned(), id, key))
}

/// A key that verifies notes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    pub name: String,
    pub id: u32,
    key: VerifyingKey,
}

impl Verifier {
    /// Reads a verifier key (`<name>+<key id>+<base64>`).
    ///
    /// # Errors
    /// [`NoteError::Key`] naming what is malformed, or a key id that does not match the key.
    pub fn parse(vkey: &str) -> Result<Self, NoteError> {
        let (name, id, public) = parse_key(vkey.trim())?;
        if key_id(&name, &public) != id {
            return Err(NoteError::Key("the key id does not match the key".into()));
        }
        let key = VerifyingKey::from_bytes(&public).map_err(|_| NoteError::Key("not an Ed25519 point".into()))?;
        Ok(Self { name, id, key })
    }

    /// The verifier key as text.
    pub fn vkey(&self) -> String {
        let mut raw = vec![ED25519];
        raw.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.name, self.id, B64.encode(raw))
    }

    /// `name+id`, how messages name the key.
    pub fn label(&self) -> String {
        format!("{}+{:08x}", self.name, self.id)
    }
}

/// A key that signs notes.
pub struct Signer {
    pub name: String,
    pub id: u32,
    key: SigningKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("name", &self.name).field("id", &format!("{:08x}", self.id)).finish()
    }
}

impl Signer {
    /// A new key named `name` from a random 32-byte `seed`.
    ///
    /// # Errors
    /// [`NoteError::Key`] for a name with '+' or spaces.
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Self, NoteError> {
        if !valid_name(name) {
            return Err(NoteError::Key("the name is empty or has '+' or spaces".into()));
        }
        let key = SigningKey::from_bytes(&seed);
        Ok(Self { name: name.to_owned(), id: key_id(name, key.verifying_key().as_bytes()), key })
    }

    /// Reads a signer key (`PRIVATE+KEY+<name>+<key id>+<base64>`).
    ///
    /// # Errors
    /// [`NoteError::Key`] naming what is malformed, or a key id that does not match the key.
    pub fn parse(skey: &str) -> Result<Self, NoteError> {
        let rest =
            skey.trim().strip_prefix("PRIVATE+KEY+").ok_or_else(|| NoteError::Key("want PRIVATE+KEY+…".into()))?;
        let (name, id, seed) = parse_key(rest)?;
        let s = Self::from_seed(&name, seed)?;
        if s.id != id {
            return Err(NoteError::Key("the key id does not match the key".into()));
        }
        Ok(s)
    }

    /// The signer key as text (a secret).
    pub fn skey(&self) -> String {
        let mut raw = vec![ED25519];
        raw.extend_from_slice(&self.key.to_bytes());
        format!("PRIVATE+KEY+{}+{:08x}+{}", self.name, self.id, B64.encode(raw))
    }

    /// The key that verifies this signer's notes.
    pub fn verifier(&self) -> Verifier {
        Verifier { name: self.name.clone(), id: self.id, key: self.key.verifying_key() }
    }

    /// The signature line of this key over `text`.
    fn line(&self, text: &str) -> String {
        let mut raw = self.id.to_be_bytes().to_vec();
        raw.extend_from_slice(&self.key.sign(text.as_bytes()).to_bytes());
        format!("— {} {}\n", self.name, B64.encode(raw))
    }
}

/// Signs `text` (which ends with a newline) with every key in `signers`: the signed note.
///
/// # Errors
/// [`NoteError::Note`] for a text that is empty, lacks its final newline or holds a blank
/// line (which would end the text early).
pub fn sign(text: &str, signers: &[&Signer]) -> Result<String, NoteError> {
    if !text.ends_with('\n') || text.contains("\n\n") || text.starts_with('\n') {
        return Err(NoteError::Note("the text must end with one newline and hold no blank line".into()));
    }
    let mut out = format!("{text}\n");
    for s in signers {
        out.push_str(&s.line(text));
    }
    Ok(out)
}

/// A note that verified: its text, and the keys (labels) whose signatures held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    pub text: String,
    pub signed_by: Vec<String>,
}

/// Opens a signed note with the keys `known`: at least one of them must have signed it, and
/// every signature by one of them must verify. Signatures by other keys are ignored (a
/// witness's cosignature, say).
///
/// # Errors
/// [`NoteError::Note`] for a malformed note; [`NoteError::UnknownKey`] when no known key
/// signed it; [`NoteError::BadSignature`] naming the key whose signature fails.
pub fn open(note: &str, known: &[Verifier]) -> Result<Opened, NoteError> {
    let bad = |m: &str| NoteError::Note(m.to_owned());
    let cut = note.rfind("\n\n").ok_or_else(|| bad("no blank line before the signatures"))?;
    let text = &note[..=cut];
    let sigs = &note[cut + 2..];
    if !sigs.ends_with('\n') || sigs.len() < 2 {
        return Err(bad("no signature lines"));
    }
    let mut signed_by = Vec::new();
    let mut others = Vec::new();
    for line in sigs[..sigs.len() - 1].split('\n') {
        let rest = line.strip_prefix("— ").ok_or_else(|| bad("a signature line does not start with '— '"))?;
        let (name, b64) = rest.split_once(' ').ok_or_else(|| bad("a signature line has no signature"))?;
        let raw = B64.decode(b64).map_err(|_| bad("a signature is not base64"))?;
        if raw.len() < 4 {
            return Err(bad("a signature is too short"));
        }
        let id = u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]);
        let Some(v) = known.iter().find(|v| v.name == name && v.id == id) else {
            others.push(format!("{name}+{id:08x}"));
            continue;
        };
        let sig = ed25519_dalek::Signature::from_slice(&raw[4..]).map_err(|_| NoteError::BadSignature(v.label()))?;
        v.key.verify_strict(text.as_bytes(), &sig).map_err(|_| NoteError::BadSignature(v.label()))?;
        signed_by.push(v.label());
    }
    if signed_by.is_empty() {
        return Err(NoteError::UnknownKey(others.join(", ")));
    }
    Ok(Opened { text: text.to_owned(), signed_by })
}

/// A checkpoint: the log `origin` had `size` entries with `root` at `time_ms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    /// Unix milliseconds when it was signed (extension line `time <ms>`).
    pub time_ms: i64,
}

impl Checkpoint {
    /// The checkpoint's text, the body a note signs.
    pub fn body(&self) -> String {
        format!("{}\n{}\n{}\ntime {}\n", self.origin, self.size, B64.encode(self.root), self.time_ms)
    }

    /// Reads a checkpoint's text (a note's opened text).
    ///
    /// # Errors
    /// [`NoteError::Checkpoint`] naming the line that is wrong.
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let bad = |m: &str| NoteError::Checkpoint(m.to_owned());
        let mut lines = text.strip_suffix('\n').ok_or_else(|| bad("no final newline"))?.split('\n');
        let origin = lines.next().filter(|o| !o.is_empty()).ok_or_else(|| bad("no origin"))?;
        let size = lines.next().ok_or_else(|| bad("no size"))?;
        if size.is_empty() || !size.bytes().all(|b| b.is_ascii_digit()) || (size.len() > 1 && size.starts_with('0')) {
            return Err(bad("the size is not a decimal number"));
        }
        let size: u64 = size.parse().map_err(|_| bad("the size is too large"))?;
        let root =
            B64.decode(lines.next().ok_or_else(|| bad("no root"))?).map_err(|_| bad("the root is not base64"))?;
        let root: Hash = root.try_into().map_err(|_| bad("the root is not 32 bytes"))?;
        let mut time_ms = None;
        for ext in lines {
            if let Some(t) = ext.strip_prefix("time ") {
                time_ms = Some(t.parse().map_err(|_| bad("the time is not a number"))?);
            }
        }
        Ok(Self { origin: origin.to_owned(), size, root, time_ms: time_ms.ok_or_else(|| bad("no time line"))? })
    }
}

/// Opens a signed checkpoint with the keys `known` and reads it.
///
/// # Errors
/// As [`open`] and [`Checkpoint::parse`].
pub fn open_checkpoint(note: &str, known: &[Verifier]) -> Result<(Checkpoint, Opened), NoteError> {
    let opened = open(note, known)?;
    Ok((Checkpoint::parse(&opened.text)?, opened))
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example key and note of Go's golang.org/x/mod/sumdb/note (its package documentation
    // and note_test.go): Ed25519 signing is deterministic, so ours must give the same bytes.
    const VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const SKEY: &str = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const TEXT: &str =
        "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    const SIG: &str =
        "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    #[test]
    fn the_go_reference_key_and_note_are_reproduced_byte_for_byte() {
        let s = Signer::parse(SKEY).unwrap();
        assert_eq!(s.skey(), SKEY);
        assert_eq!(s.verifier().vkey(), VKEY);
        assert_eq!(Verifier::parse(VKEY).unwrap(), s.verifier());
        let note = sign(TEXT, &[&s]).unwrap();
        assert_eq!(note, format!("{TEXT}\n{SIG}"));
        let opened = open(&note, &[Verifier::parse(VKEY).unwrap()]).unwrap();
        assert_eq!(opened.text, TEXT);
        assert_eq!(opened.signed_by, ["PeterNeumann+c74f20a3"]);
    }

    #[test]
    fn a_changed_note_an_unknown_key_and_mangled_keys_are_refused() {
        let v = Verifier::parse(VKEY).unwrap();
        let note = format!("{TEXT}\n{SIG}");
        let changed = note.replace("cryptography", "cryptographY");
        assert_eq!(
            open(&changed, std::slice::from_ref(&v)),
            Err(NoteError::BadSignature("PeterNeumann+c74f20a3".into()))
        );
        let other = Signer::from_seed("PeterNeumann", [7; 32]).unwrap();
        assert!(
            matches!(open(&note, &[other.verifier()]), Err(NoteError::UnknownKey(k)) if k == "PeterNeumann+c74f20a3")
        );
        // A signature by another key is ignored when a known key signed too.
        let both = sign(TEXT, &[&other, &Signer::parse(SKEY).unwrap()]).unwrap();
        assert_eq!(open(&both, std::slice::from_ref(&v)).unwrap().signed_by, ["PeterNeumann+c74f20a3"]);
        for bad in [
            "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TX",
            "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+c74f20a3",
            "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        ] {
            assert!(Verifier::parse(bad).is_err(), "{bad}");
        }
        assert!(open(TEXT, std::slice::from_ref(&v)).is_err());
        assert!(sign("no newline", &[&other]).is_err());
        assert!(sign("a\n\nb\n", &[&other]).is_err());
    }

    #[test]
    fn a_checkpoint_is_signed_opened_and_read_back() {
        let s = Signer::from_seed("labinn.test/log", [3; 32]).unwrap();
        let c = Checkpoint { origin: "labinn.test/log".into(), size: 12, root: [9; 32], time_ms: 1_765_000_000_000 };
        assert_eq!(c.body(), "labinn.test/log\n12\nCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=\ntime 1765000000000\n");
        let note = sign(&c.body(), &[&s]).unwrap();
        let (back, opened) = open_checkpoint(&note, &[s.verifier()]).unwrap();
        assert_eq!(back, c);
        assert_eq!(opened.signed_by, [s.verifier().label()]);
        for (text, why) in [
            ("o\n012\nCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=\ntime 1\n", "the size is not a decimal number"),
            ("o\n12\nCQkJ\ntime 1\n", "the root is not 32 bytes"),
            ("o\n12\nCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=\n", "no time line"),
        ] {
            assert_eq!(Checkpoint::parse(text), Err(NoteError::Checkpoint(why.into())));
        }
    }
}
