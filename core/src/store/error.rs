//! What can go wrong opening, unlocking, reading or writing a store, and how redb's
//! errors map onto it.

use std::io;
use std::path::{Path, PathBuf};

use crate::crypto::CryptoError;

/// Why a store operation failed. Every message names the problem and what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The data directory holds no profile.
    #[error("no Plenum profile in {}; create one with `plenum init --name NAME`", .0.display())]
    NotInitialized(PathBuf),
    /// `init` found an existing profile.
    #[error(
        "a Plenum profile already exists in {}; use it, or pick another directory with --data",
        .0.display()
    )]
    AlreadyInitialized(PathBuf),
    /// Another process (or another `Store` in this one) has the database open.
    #[error(
        "the data directory {} is in use by another Plenum process; stop it or use --data to pick another directory",
        .0.display()
    )]
    InUse(PathBuf),
    /// The passphrase does not unlock the profile.
    #[error("wrong passphrase for {}; try again", .0.display())]
    WrongPassphrase(PathBuf),
    /// The key file holds a key, but not this profile's key (or holds no key at all).
    #[error(
        "the key file {} does not unlock this profile; use the key file `plenum init` wrote for it",
        .0.display()
    )]
    WrongKeyFile(PathBuf),
    /// The system keyring did not keep or give the storage key.
    #[error(
        "the system keyring could not be used ({0}); on Linux a Secret Service (GNOME Keyring, KWallet) must be running and unlocked in this session — or create the profile with a passphrase"
    )]
    Keyring(String),
    /// The system keyring has no storage key for this profile.
    #[error(
        "the system keyring holds no storage key for this profile (entry {0:?}): it was removed from the keyring, or this is another user account; restore the keyring from a backup"
    )]
    KeyringEntryMissing(String),
    /// The key file is not there.
    #[error(
        "the key file {} is missing; put it back (for example from removable media), or pass its new location",
        .0.display()
    )]
    KeyFileMissing(PathBuf),
    /// A key file must never sit next to the data it protects.
    #[error(
        "the key file {} is inside the data directory {}; keep it elsewhere (for example on removable media)",
        key_file.display(),
        dir.display()
    )]
    KeyFileInsideDataDir {
        /// The refused key file path.
        key_file: PathBuf,
        /// The data directory.
        dir: PathBuf,
    },
    /// `init` will not overwrite an existing key file.
    #[error(
        "the key file {} already exists; pick a new path, Plenum never overwrites a key",
        .0.display()
    )]
    KeyFileExists(PathBuf),
    /// The profile is protected by a passphrase, but none was given.
    #[error("the profile in {} is protected by a passphrase; unlock it with the passphrase", .0.display())]
    PassphraseRequired(PathBuf),
    /// The profile is unlocked by a key file, but a passphrase was given.
    #[error(
        "the profile in {} is unlocked by the key file {}, not by a passphrase",
        dir.display(),
        key_file.display()
    )]
    KeyFileRequired {
        /// The data directory.
        dir: PathBuf,
        /// The key file recorded for it.
        key_file: PathBuf,
    },
    /// `unlock.json` is missing while the database exists.
    #[error(
        "the unlock header {} is missing, so the database cannot be unlocked; restore it from a backup, or move the directory aside and run `plenum init`",
        .0.display()
    )]
    UnlockHeaderMissing(PathBuf),
    /// `unlock.json` exists but cannot be understood.
    #[error(
        "the unlock header {} is damaged ({detail}); restore it from a backup",
        path.display()
    )]
    UnlockHeader {
        /// The header file.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// The database file is damaged, truncated, not a database, or holds a value that
    /// does not decrypt.
    #[error(
        "the database {} is damaged ({detail}); restore it from a backup, or move it aside and run `plenum init`",
        path.display()
    )]
    Corrupt {
        /// The database file (or a label for a custom storage backend).
        path: PathBuf,
        /// What redb or the decryption reported.
        detail: String,
    },
    /// The database was written by a newer build.
    #[error(
        "this data directory was written by a newer Plenum (schema {found}, this build knows {known}); upgrade Plenum"
    )]
    NewerSchema {
        /// The schema version on disk.
        found: u32,
        /// The newest schema version this build knows.
        known: u32,
    },
    /// Deriving the key from the passphrase failed (bad recorded parameters or no memory).
    #[error(
        "could not derive the key from the passphrase ({0}); check the free memory, or the unlock header"
    )]
    Kdf(#[source] CryptoError),
    /// A value is larger than redb can hold.
    #[error("a value of {0} bytes is too large to store; split it")]
    ValueTooLarge(usize),
    /// An operating-system I/O error.
    #[error("could not {what}: {source}; check the permissions and the free disk space")]
    Io {
        /// What was being done, e.g. "write /data/unlock.json".
        what: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Any other database failure (for example after an earlier I/O error).
    #[error(
        "the database {} failed ({detail}); restart Plenum, and if this persists check the disk",
        path.display()
    )]
    Database {
        /// The database file.
        path: PathBuf,
        /// What redb reported.
        detail: String,
    },
}

impl StoreError {
    /// An I/O error while doing `what`.
    pub(super) fn io(what: impl Into<String>) -> impl FnOnce(io::Error) -> StoreError {
        let what = what.into();
        move |source| StoreError::Io { what, source }
    }

    /// A damaged database at `path`.
    pub(super) fn corrupt(path: &Path, detail: impl Into<String>) -> StoreError {
        StoreError::Corrupt {
            path: path.to_path_buf(),
            detail: detail.into(),
        }
    }
}

/// Maps any redb error on the database at `path` to a [`StoreError`].
pub(super) fn db_error<E: Into<redb::Error>>(path: &Path) -> impl Fn(E) -> StoreError + '_ {
    move |err| from_redb(path, err.into())
}

fn from_redb(path: &Path, err: redb::Error) -> StoreError {
    use redb::Error as E;
    match err {
        E::DatabaseAlreadyOpen | E::LockProtocolMismatch => {
            StoreError::InUse(path.parent().unwrap_or(path).to_path_buf())
        }
        E::Corrupted(detail) => StoreError::corrupt(path, detail),
        E::UpgradeRequired(version) => StoreError::corrupt(
            path,
            format!("written in redb file format {version}, which this build cannot read"),
        ),
        E::Io(source)
            if matches!(
                source.kind(),
                io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof
            ) =>
        {
            StoreError::corrupt(path, source.to_string())
        }
        E::TableTypeMismatch { .. }
        | E::TableIsMultimap(_)
        | E::TypeDefinitionChanged { .. }
        | E::TableDoesNotExist(_) => StoreError::corrupt(path, err.to_string()),
        E::ValueTooLarge(len) => StoreError::ValueTooLarge(len),
        E::Io(source) => StoreError::Io {
            what: format!("use the database {}", path.display()),
            source,
        },
        other => StoreError::Database {
            path: path.to_path_buf(),
            detail: other.to_string(),
        },
    }
}
