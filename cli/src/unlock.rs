//! Where the data directory, its passphrase and its key file come from.

use std::io::{BufRead, BufReader, IsTerminal};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use plenum_core::{Unlock, UnlockMethod};
use zeroize::Zeroizing;

/// The data directory: `--data`, else `$PLENUM_DATA` (clap reads both), else the
/// platform's data directory.
pub(crate) fn data_dir(flag: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(dir) = flag {
        return Ok(dir);
    }
    let base = dirs::data_dir().context("no data directory on this platform; pass --data DIR")?;
    Ok(base.join("plenum"))
}

/// Where `init --no-passphrase` puts the storage key by default: the platform's config
/// directory, outside the data directory, named after the data directory so several
/// profiles don't collide.
pub(crate) fn default_key_file(data: &Path) -> Result<PathBuf> {
    let base =
        dirs::config_dir().context("no config directory on this platform; pass --key-file PATH")?;
    let absolute = std::path::absolute(data).unwrap_or_else(|_| data.to_path_buf());
    let digest = plenum_core::crypto::hash(
        "plenum key file name v1",
        &[absolute.as_os_str().as_encoded_bytes()],
    );
    let tag = hex::encode(&digest[..8]);
    Ok(base.join("plenum").join("keys").join(format!("{tag}.key")))
}

/// How the passphrase reaches us, in order: `--passphrase-fd N`, `$PLENUM_PASSPHRASE`,
/// the terminal.
pub struct PassphraseSource {
    pub(crate) fd: Option<u32>,
    pub(crate) env: Option<String>,
}

impl PassphraseSource {
    /// `$PLENUM_PASSPHRASE` only (no descriptor, no terminal): for the shells.
    pub fn from_env() -> PassphraseSource {
        PassphraseSource {
            fd: None,
            env: std::env::var("PLENUM_PASSPHRASE")
                .ok()
                .filter(|p| !p.is_empty()),
        }
    }

    pub(crate) fn read(&self, prompt: &str, confirm: bool) -> Result<Zeroizing<String>> {
        if let Some(fd) = self.fd {
            // /dev/fd avoids unsafe raw-fd handling; it exists on Linux and macOS.
            let file = std::fs::File::open(format!("/dev/fd/{fd}"))
                .with_context(|| format!("cannot read the passphrase from file descriptor {fd}"))?;
            let mut line = Zeroizing::new(String::new());
            BufReader::new(file)
                .read_line(&mut line)
                .context("reading the passphrase")?;
            let trimmed = Zeroizing::new(line.trim_end_matches(['\n', '\r']).to_owned());
            return Ok(trimmed);
        }
        if let Some(env) = &self.env {
            return Ok(Zeroizing::new(env.clone()));
        }
        if !std::io::stdin().is_terminal() {
            bail!(
                "a passphrase is needed: run in a terminal, or use --passphrase-fd N or PLENUM_PASSPHRASE"
            );
        }
        let first =
            Zeroizing::new(rpassword::prompt_password(prompt).context("reading the passphrase")?);
        if confirm {
            let again = Zeroizing::new(rpassword::prompt_password("Repeat the passphrase: ")?);
            if *first != *again {
                bail!("the passphrases differ; run the command again");
            }
        }
        Ok(first)
    }

    /// The unlock for an existing profile.
    pub(crate) fn unlock(&self, method: &UnlockMethod) -> Result<Unlock> {
        Ok(match method {
            UnlockMethod::Passphrase => Unlock::Passphrase(self.read("Passphrase: ", false)?),
            UnlockMethod::KeyFile(_) | UnlockMethod::Keyring => Unlock::Auto,
        })
    }
}
