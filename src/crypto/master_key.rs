//! The master key: 256 random bits in `KEYMINT_KEYS_DIR/master.key`
//! (mode 0600) under which private signing keys are sealed before they are
//! stored in the database.
//!
//! Sealing uses AES-256-GCM with a random 96-bit nonce and a label (such as
//! the key id) as associated data, so a sealed value cannot be moved to
//! another row. Subkeys per purpose are derived with HKDF-SHA-256.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::hkdf;

use crate::crypto::random;

const FILE_NAME: &str = "master.key";
const SEALED_PREFIX: &str = "v1.";
const NONCE_LEN: usize = 12;

/// Why the master key could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    /// The directory or file could not be read or written.
    #[error("failed to access {path}: {source}")]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// The file exists but does not hold a key.
    #[error("{0} does not hold a keymint master key (43 base64url characters)")]
    Malformed(PathBuf),
    /// There is no key file where one must be.
    #[error(
        "{0} is missing, but the database holds signing keys sealed under it; restore it from \
         your backup (a new key cannot open the stored ones)"
    )]
    Missing(PathBuf),
    /// The file can be read by other users.
    #[error("{0} is readable by other users; run `chmod 600` on it")]
    TooOpen(PathBuf),
}

/// Why a sealed value could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("sealed value cannot be opened with this master key (wrong key, label or corrupted data)")]
pub struct OpenError;

/// Purposes a subkey is derived for; each seals only its own kind of data.
#[derive(Clone, Copy, Debug)]
pub enum Purpose {
    /// Private JWT signing keys.
    SigningKeys,
    /// TOTP shared secrets of users.
    TotpSecrets,
}

impl Purpose {
    fn info(self) -> &'static [u8] {
        match self {
            Purpose::SigningKeys => b"keymint signing keys v1",
            Purpose::TotpSecrets => b"keymint totp secrets v1",
        }
    }
}

/// The loaded master key. Its `Debug` hides the bytes.
pub struct MasterKey {
    prk: hkdf::Prk,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<hidden>)")
    }
}

impl MasterKey {
    /// Loads `dir/master.key`, creating the directory (0700) and a new key
    /// file (0600) when there is none. Two processes starting at once agree
    /// on one key: the file appears atomically and the loser reads it.
    pub fn load_or_create(dir: &Path) -> Result<Self, MasterKeyError> {
        let path = dir.join(FILE_NAME);
        match fs::read_to_string(&path) {
            Ok(text) => Self::parse_file(&path, &text),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Self::create(dir, &path),
            Err(source) => Err(MasterKeyError::Io { path, source }),
        }
    }

    /// Loads `dir/master.key`, which must exist.
    pub fn load(dir: &Path) -> Result<Self, MasterKeyError> {
        let path = dir.join(FILE_NAME);
        match fs::read_to_string(&path) {
            Ok(text) => Self::parse_file(&path, &text),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Err(MasterKeyError::Missing(path)),
            Err(source) => Err(MasterKeyError::Io { path, source }),
        }
    }

    /// A key that lives only in memory, for tests and benchmarks.
    pub fn ephemeral() -> Self {
        Self::from_bytes(&random::bytes::<32>())
    }

    fn from_bytes(bytes: &[u8]) -> Self {
        Self {
            prk: hkdf::Salt::new(hkdf::HKDF_SHA256, b"keymint master key").extract(bytes),
        }
    }

    fn parse_file(path: &Path, text: &str) -> Result<Self, MasterKeyError> {
        let io_err = |source| MasterKeyError::Io {
            path: path.to_owned(),
            source,
        };
        let mode = fs::metadata(path).map_err(io_err)?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(MasterKeyError::TooOpen(path.to_owned()));
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim())
            .ok()
            .filter(|bytes| bytes.len() == 32)
            .ok_or_else(|| MasterKeyError::Malformed(path.to_owned()))?;
        Ok(Self::from_bytes(&bytes))
    }

    fn create(dir: &Path, path: &Path) -> Result<Self, MasterKeyError> {
        let io_err = |path: &Path| {
            let path = path.to_owned();
            move |source| MasterKeyError::Io { path, source }
        };
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io_err(dir))?;
        let bytes = random::bytes::<32>();
        let tmp = dir.join(format!(".{FILE_NAME}.{}", random::token::<6>()));
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io_err(&tmp))?;
        file.write_all(format!("{}\n", URL_SAFE_NO_PAD.encode(bytes)).as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(io_err(&tmp))?;
        // A hard link never replaces an existing file: if another process won
        // the race, its key stands and we read it.
        let linked = fs::hard_link(&tmp, path);
        let _ = fs::remove_file(&tmp);
        match linked {
            Ok(()) => {
                tracing::info!(path = %path.display(), "generated a new master key");
                Ok(Self::from_bytes(&bytes))
            }
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
                let text = fs::read_to_string(path).map_err(io_err(path))?;
                Self::parse_file(path, &text)
            }
            Err(source) => Err(MasterKeyError::Io {
                path: path.to_owned(),
                source,
            }),
        }
    }

    #[expect(clippy::expect_used, reason = "HKDF-SHA-256 always yields 32 bytes")]
    fn subkey(&self, purpose: Purpose) -> LessSafeKey {
        // Expansion fails only when the requested length exceeds what HKDF
        // can produce; 32 bytes for AES-256 is far below that limit.
        let info = [purpose.info()];
        let okm = self
            .prk
            .expand(&info, &aead::AES_256_GCM)
            .expect("HKDF yields 32 bytes");
        LessSafeKey::new(UnboundKey::from(okm))
    }

    /// Encrypts `plaintext` for `purpose`, bound to `label`.
    pub fn seal(&self, purpose: Purpose, label: &str, plaintext: &[u8]) -> String {
        let nonce_bytes = random::bytes::<NONCE_LEN>();
        let mut buffer = plaintext.to_vec();
        let nonce = Nonce::assume_unique_for_key(nonce_bytes);
        let sealed = self.subkey(purpose).seal_in_place_append_tag(
            nonce,
            Aad::from(label.as_bytes()),
            &mut buffer,
        );
        #[expect(clippy::expect_used, reason = "AES-GCM sealing fails only past 64 GiB")]
        sealed.expect("AES-GCM seals inputs of this size");
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&buffer);
        format!("{SEALED_PREFIX}{}", URL_SAFE_NO_PAD.encode(out))
    }

    /// Decrypts a value made by [`MasterKey::seal`] with the same purpose
    /// and label.
    pub fn open(&self, purpose: Purpose, label: &str, sealed: &str) -> Result<Vec<u8>, OpenError> {
        let encoded = sealed.strip_prefix(SEALED_PREFIX).ok_or(OpenError)?;
        let mut bytes = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| OpenError)?;
        if bytes.len() < NONCE_LEN {
            return Err(OpenError);
        }
        let mut ciphertext = bytes.split_off(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(&bytes).map_err(|_| OpenError)?;
        let plaintext = self
            .subkey(purpose)
            .open_in_place(nonce, Aad::from(label.as_bytes()), &mut ciphertext)
            .map_err(|_| OpenError)?;
        Ok(plaintext.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_value_opens_only_with_same_key_purpose_and_label() {
        let key = MasterKey::ephemeral();
        let sealed = key.seal(Purpose::SigningKeys, "kid-1", b"private");

        assert_eq!(
            key.open(Purpose::SigningKeys, "kid-1", &sealed).unwrap(),
            b"private"
        );
        assert!(key.open(Purpose::SigningKeys, "kid-2", &sealed).is_err());
        assert!(key.open(Purpose::TotpSecrets, "kid-1", &sealed).is_err());
        assert!(
            MasterKey::ephemeral()
                .open(Purpose::SigningKeys, "kid-1", &sealed)
                .is_err()
        );
        assert!(key.open(Purpose::SigningKeys, "kid-1", "v1.AAAA").is_err());
    }

    #[test]
    fn key_file_is_created_private_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("keys");

        let first = MasterKey::load_or_create(&keys).unwrap();
        let second = MasterKey::load_or_create(&keys).unwrap();
        let sealed = first.seal(Purpose::TotpSecrets, "u", b"x");

        let mode = fs::metadata(keys.join(FILE_NAME))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(
            second.open(Purpose::TotpSecrets, "u", &sealed).unwrap(),
            b"x"
        );
    }

    #[test]
    fn world_readable_key_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        MasterKey::load_or_create(dir.path()).unwrap();
        let path = dir.path().join(FILE_NAME);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();

        let result = MasterKey::load_or_create(dir.path());

        assert!(matches!(result, Err(MasterKeyError::TooOpen(_))));
    }
}
