//! The unlock header `unlock.json`: how the storage key is protected.
//!
//! The 32-byte storage key is random. With a passphrase it is sealed under an Argon2id
//! key whose parameters and salt the header records; with a key file the key file holds
//! it, and the header records the file's path and a check value so that a wrong file is
//! told apart from a damaged database.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::StoreError;
use crate::crypto::{KEY_LEN, KdfParams, SecretKey, random_array};

/// The header's file name inside the data directory.
pub(super) const HEADER_FILE: &str = "unlock.json";
const FORMAT: u32 = 1;
const SALT_LEN: usize = 16;
const WRAP_AAD: &[u8] = b"plenum unlock.json wrapped_key v1";
const CHECK_AAD: &[u8] = b"plenum unlock.json key_check v1";
const CHECK_PLAINTEXT: &[u8] = b"plenum storage key check";

/// How a new profile's storage key is protected.
pub enum Protection {
    /// A passphrase, stretched with Argon2id calibrated to take about `kdf_target`.
    Passphrase {
        /// The passphrase.
        passphrase: Zeroizing<String>,
        /// How long deriving the key should take on this device (about 1 s is usual).
        kdf_target: Duration,
    },
    /// A key file that `init` creates at this path, outside the data directory.
    KeyFile(PathBuf),
    /// The operating system's keyring (Secret Service, Keychain, Credential Manager):
    /// unlocked with the user's login, nothing to type.
    Keyring,
}

/// How to unlock an existing profile.
pub enum Unlock {
    /// With the profile's passphrase.
    Passphrase(Zeroizing<String>),
    /// With the key file at this path, instead of the path recorded in the header
    /// (for example when removable media mounts elsewhere).
    KeyFile(PathBuf),
    /// With the key file at the path recorded in the header.
    Auto,
}

/// How a profile is unlocked, as recorded in its header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UnlockMethod {
    /// With a passphrase.
    Passphrase,
    /// With the key file at this path.
    KeyFile(PathBuf),
    /// From the system keyring.
    Keyring,
}

#[derive(Serialize, Deserialize)]
struct Header {
    format: u32,
    #[serde(flatten)]
    method: Method,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "kebab-case")]
enum Method {
    Passphrase {
        kdf: Kdf,
        wrapped_key: String,
    },
    KeyFile {
        key_file: PathBuf,
        key_check: String,
    },
    Keyring {
        service: String,
        account: String,
        key_check: String,
    },
}

/// The keyring service name Plenum's entries are filed under.
const KEYRING_SERVICE: &str = "plenum";

#[derive(Serialize, Deserialize)]
struct Kdf {
    algorithm: String,
    m_cost: u32,
    t_cost: u32,
    p_cost: u32,
    salt: String,
}

/// Protects the storage key `key` of the profile in `dir` and writes the header; with a
/// key file, also creates the key file.
pub(super) fn create(
    dir: &Path,
    protection: Protection,
    key: &SecretKey,
) -> Result<(), StoreError> {
    let mut created_key_file = None;
    let mut created_entry = None;
    let method = match protection {
        Protection::Keyring => {
            // One entry per profile: several data directories may share a keyring.
            let account = format!("storage key {}", hex::encode(random_array::<8>()));
            keyring::store(KEYRING_SERVICE, &account, key)?;
            created_entry = Some(account.clone());
            Method::Keyring {
                service: KEYRING_SERVICE.to_owned(),
                account,
                key_check: B64.encode(check_key(key).seal(CHECK_AAD, CHECK_PLAINTEXT)),
            }
        }
        Protection::Passphrase {
            passphrase,
            kdf_target,
        } => {
            let params = KdfParams::calibrate(kdf_target).map_err(StoreError::Kdf)?;
            let salt: [u8; SALT_LEN] = random_array();
            let kek = params
                .derive(passphrase.as_bytes(), &salt)
                .map_err(StoreError::Kdf)?;
            Method::Passphrase {
                kdf: Kdf {
                    algorithm: "argon2id".to_owned(),
                    m_cost: params.m_cost,
                    t_cost: params.t_cost,
                    p_cost: params.p_cost,
                    salt: B64.encode(salt),
                },
                wrapped_key: B64.encode(kek.seal(WRAP_AAD, key.as_bytes())),
            }
        }
        Protection::KeyFile(path) => {
            let key_file = outside_data_dir(dir, &path)?;
            write_key_file(&key_file, key)?;
            created_key_file = Some(key_file.clone());
            Method::KeyFile {
                key_file,
                key_check: B64.encode(check_key(key).seal(CHECK_AAD, CHECK_PLAINTEXT)),
            }
        }
    };
    let header = Header {
        format: FORMAT,
        method,
    };
    let json = serde_json::to_vec_pretty(&header).map_err(|err| StoreError::UnlockHeader {
        path: dir.join(HEADER_FILE),
        detail: err.to_string(),
    })?;
    let written = write_atomically(dir, HEADER_FILE, &json);
    if let (Err(_), Some(path)) = (&written, created_key_file) {
        // No header names this key, so it protects nothing; let a retry create it anew.
        let _ = fs::remove_file(path);
    }
    if let (Err(_), Some(account)) = (&written, created_entry) {
        keyring::delete(KEYRING_SERVICE, &account);
    }
    written
}

/// How the profile in `dir` is unlocked.
pub(super) fn method(dir: &Path) -> Result<UnlockMethod, StoreError> {
    Ok(match read(dir)?.method {
        Method::Passphrase { .. } => UnlockMethod::Passphrase,
        Method::KeyFile { key_file, .. } => UnlockMethod::KeyFile(key_file),
        Method::Keyring { .. } => UnlockMethod::Keyring,
    })
}

/// Reads the header of `dir` (checking that the profile exists), without unlocking.
pub(super) fn check(dir: &Path) -> Result<(), StoreError> {
    read(dir).map(drop)
}

/// Recovers the storage key of the profile in `dir`.
pub(super) fn unlock(dir: &Path, unlock: Unlock) -> Result<SecretKey, StoreError> {
    let header_path = dir.join(HEADER_FILE);
    let damaged = |detail: &str| StoreError::UnlockHeader {
        path: header_path.clone(),
        detail: detail.to_owned(),
    };
    match (read(dir)?.method, unlock) {
        (Method::Passphrase { kdf, wrapped_key }, Unlock::Passphrase(passphrase)) => {
            if kdf.algorithm != "argon2id" {
                return Err(damaged("unknown key derivation algorithm"));
            }
            let salt = B64.decode(&kdf.salt).map_err(|_| damaged("bad salt"))?;
            let wrapped = B64
                .decode(&wrapped_key)
                .map_err(|_| damaged("bad wrapped_key"))?;
            let params = KdfParams {
                m_cost: kdf.m_cost,
                t_cost: kdf.t_cost,
                p_cost: kdf.p_cost,
            };
            let kek = params
                .derive(passphrase.as_bytes(), &salt)
                .map_err(StoreError::Kdf)?;
            let raw = Zeroizing::new(
                kek.open(WRAP_AAD, &wrapped)
                    .map_err(|_| StoreError::WrongPassphrase(dir.to_path_buf()))?,
            );
            let bytes: [u8; KEY_LEN] = raw
                .as_slice()
                .try_into()
                .map_err(|_| damaged("the wrapped key has the wrong length"))?;
            Ok(SecretKey::from_bytes(bytes))
        }
        (Method::Passphrase { .. }, Unlock::KeyFile(_) | Unlock::Auto) => {
            Err(StoreError::PassphraseRequired(dir.to_path_buf()))
        }
        (
            Method::Keyring {
                service,
                account,
                key_check,
            },
            _,
        ) => {
            let key = keyring::load(&service, &account)?;
            let check = B64
                .decode(&key_check)
                .map_err(|_| damaged("bad key_check"))?;
            match check_key(&key).open(CHECK_AAD, &check) {
                Ok(plain) if plain == CHECK_PLAINTEXT => Ok(key),
                _ => Err(StoreError::Keyring(format!(
                    "its entry {account:?} holds another key"
                ))),
            }
        }
        (Method::KeyFile { key_file, .. }, Unlock::Passphrase(_)) => {
            Err(StoreError::KeyFileRequired {
                dir: dir.to_path_buf(),
                key_file,
            })
        }
        (
            Method::KeyFile {
                key_file,
                key_check,
            },
            unlock,
        ) => {
            let path = match unlock {
                Unlock::KeyFile(path) => path,
                _ => key_file,
            };
            let path = std::path::absolute(&path).unwrap_or(path);
            refuse_inside(dir, &path)?;
            let key = read_key_file(&path)?;
            let check = B64
                .decode(&key_check)
                .map_err(|_| damaged("bad key_check"))?;
            match check_key(&key).open(CHECK_AAD, &check) {
                Ok(plain) if plain == CHECK_PLAINTEXT => Ok(key),
                _ => Err(StoreError::WrongKeyFile(path)),
            }
        }
    }
}

fn read(dir: &Path) -> Result<Header, StoreError> {
    let path = dir.join(HEADER_FILE);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Err(if dir.join(super::DB_FILE).exists() {
                StoreError::UnlockHeaderMissing(path)
            } else {
                StoreError::NotInitialized(dir.to_path_buf())
            });
        }
        Err(err) => return Err(StoreError::io(format!("read {}", path.display()))(err)),
    };
    let header: Header =
        serde_json::from_slice(&bytes).map_err(|err| StoreError::UnlockHeader {
            path: path.clone(),
            detail: err.to_string(),
        })?;
    if header.format != FORMAT {
        return Err(StoreError::UnlockHeader {
            path,
            detail: format!(
                "format {} is not one this build knows ({FORMAT}); upgrade Plenum",
                header.format
            ),
        });
    }
    Ok(header)
}

fn check_key(key: &SecretKey) -> SecretKey {
    key.derive("plenum store key check v1", b"")
}

/// The absolute path of `key_file`, refused if it lies inside `dir`.
fn outside_data_dir(dir: &Path, key_file: &Path) -> Result<PathBuf, StoreError> {
    let absolute =
        std::path::absolute(key_file).map_err(StoreError::io("resolve the key file path"))?;
    refuse_inside(dir, &absolute)?;
    let (Some(parent), Some(name)) = (absolute.parent(), absolute.file_name()) else {
        return Err(StoreError::Io {
            what: format!("use {} as a key file", absolute.display()),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file path"),
        });
    };
    let parent = parent.canonicalize().map_err(StoreError::io(format!(
        "find the folder {}",
        parent.display()
    )))?;
    let key_file = parent.join(name);
    refuse_inside(dir, &key_file)?;
    Ok(key_file)
}

fn refuse_inside(dir: &Path, key_file: &Path) -> Result<(), StoreError> {
    let dir_canon = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let parent = key_file.parent().unwrap_or(key_file);
    let parent_canon = parent
        .canonicalize()
        .unwrap_or_else(|_| parent.to_path_buf());
    let dir_absolute = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    if parent_canon.starts_with(&dir_canon) || key_file.starts_with(&dir_absolute) {
        return Err(StoreError::KeyFileInsideDataDir {
            key_file: key_file.to_path_buf(),
            dir: dir.to_path_buf(),
        });
    }
    Ok(())
}

fn write_key_file(path: &Path, key: &SecretKey) -> Result<(), StoreError> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|err| {
        if err.kind() == std::io::ErrorKind::AlreadyExists {
            StoreError::KeyFileExists(path.to_path_buf())
        } else {
            StoreError::io(format!("create the key file {}", path.display()))(err)
        }
    })?;
    let text = Zeroizing::new(format!(
        "# Plenum storage key. Anyone with this file and the data directory can read the profile.\n\
         # Keep it outside the data directory, readable only by you.\n{}\n",
        B64.encode(key.as_bytes())
    ));
    let what = format!("write the key file {}", path.display());
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(StoreError::io(what.clone()))?;
    sync_parent(path).map_err(StoreError::io(what))
}

fn read_key_file(path: &Path) -> Result<SecretKey, StoreError> {
    let text = Zeroizing::new(fs::read_to_string(path).map_err(|err| match err.kind() {
        std::io::ErrorKind::NotFound => StoreError::KeyFileMissing(path.to_path_buf()),
        std::io::ErrorKind::InvalidData => StoreError::WrongKeyFile(path.to_path_buf()),
        _ => StoreError::io(format!("read the key file {}", path.display()))(err),
    })?);
    let line = text
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with('#'))
        .ok_or_else(|| StoreError::WrongKeyFile(path.to_path_buf()))?;
    let raw = Zeroizing::new(
        B64.decode(line)
            .map_err(|_| StoreError::WrongKeyFile(path.to_path_buf()))?,
    );
    let bytes: [u8; KEY_LEN] = raw
        .as_slice()
        .try_into()
        .map_err(|_| StoreError::WrongKeyFile(path.to_path_buf()))?;
    Ok(SecretKey::from_bytes(bytes))
}

/// Writes `dir/name` so that a crash leaves either the old file or the new one: a temp
/// file (mode 0600), fsync, rename, fsync of the directory.
pub(super) fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
    let path = dir.join(name);
    let tmp = dir.join(format!("{name}.tmp"));
    let what = format!("write {}", path.display());
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp).map_err(StoreError::io(what.clone()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .and_then(|()| fs::rename(&tmp, &path))
        .and_then(|()| sync_parent(&path))
        .map_err(StoreError::io(what))
}

/// Makes a rename or create in the parent directory of `path` durable.
fn sync_parent(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    if let Some(parent) = path.parent() {
        fs::File::open(parent)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// The storage key in the operating system's keyring, where this build has one.
#[cfg(all(
    feature = "keyring",
    any(target_os = "linux", target_os = "macos", target_os = "ios", windows)
))]
mod keyring {
    use super::{KEY_LEN, SecretKey, StoreError};

    fn entry(service: &str, account: &str) -> Result<::keyring::Entry, StoreError> {
        ::keyring::Entry::new(service, account).map_err(|e| StoreError::Keyring(e.to_string()))
    }

    pub(super) fn store(service: &str, account: &str, key: &SecretKey) -> Result<(), StoreError> {
        entry(service, account)?
            .set_secret(key.as_bytes())
            .map_err(|e| StoreError::Keyring(e.to_string()))
    }

    pub(super) fn load(service: &str, account: &str) -> Result<SecretKey, StoreError> {
        let secret = zeroize::Zeroizing::new(entry(service, account)?.get_secret().map_err(
            |e| match e {
                ::keyring::Error::NoEntry => StoreError::KeyringEntryMissing(account.to_owned()),
                other => StoreError::Keyring(other.to_string()),
            },
        )?);
        let bytes: [u8; KEY_LEN] = secret.as_slice().try_into().map_err(|_| {
            StoreError::Keyring(format!("its entry {account:?} is not a storage key"))
        })?;
        Ok(SecretKey::from_bytes(bytes))
    }

    pub(super) fn delete(service: &str, account: &str) {
        if let Ok(entry) = entry(service, account) {
            let _ = entry.delete_credential();
        }
    }
}

/// Builds without a keyring (Android, the fuzz targets): every use says so.
#[cfg(not(all(
    feature = "keyring",
    any(target_os = "linux", target_os = "macos", target_os = "ios", windows)
)))]
mod keyring {
    use super::{SecretKey, StoreError};

    fn unsupported() -> StoreError {
        StoreError::Keyring("this build of Plenum has no system keyring support".into())
    }

    pub(super) fn store(_: &str, _: &str, _: &SecretKey) -> Result<(), StoreError> {
        Err(unsupported())
    }

    pub(super) fn load(_: &str, _: &str) -> Result<SecretKey, StoreError> {
        Err(unsupported())
    }

    pub(super) fn delete(_: &str, _: &str) {}
}
