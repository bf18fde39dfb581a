//! `envshim.toml`: scanner settings. User rules extend the built-in set; they never
//! replace it (a custom config that silently dropped the built-ins would be a trap).

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context};
use serde::Deserialize;

use super::rules::RuleSpec;

/// Default size limit: larger files are skipped and counted.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 10 << 20;

/// The whole `envshim.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Scanner settings.
    #[serde(default)]
    pub scan: ScanConfig,
}

/// `[scan]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanConfig {
    /// Skip files larger than this many bytes.
    pub max_file_size: Option<u64>,
    /// Built-in rule ids to turn off.
    #[serde(default)]
    pub disable: Vec<String>,
    /// Extra rules (`[[scan.rule]]`), same fields as the built-ins.
    #[serde(default)]
    pub rule: Vec<RuleSpec>,
    /// `[scan.allowlist]`.
    #[serde(default)]
    pub allowlist: AllowlistConfig,
}

/// `[scan.allowlist]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowlistConfig {
    /// Path globs whose findings are suppressed (`tests/fixtures/**`).
    #[serde(default)]
    pub paths: Vec<String>,
    /// Regexes; a finding whose secret matches one is suppressed.
    #[serde(default)]
    pub secrets: Vec<String>,
}

impl Config {
    /// Reads `explicit`, or the nearest `envshim.toml` up to the repository root, or
    /// defaults when there is none.
    pub fn load(explicit: Option<&Path>) -> anyhow::Result<(Config, Option<PathBuf>)> {
        let path = match explicit {
            Some(p) => Some(p.to_path_buf()),
            None => find(),
        };
        let Some(path) = path else {
            return Ok((Config::default(), None));
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| anyhow!("cannot read {}: {e}", path.display()))?;
        let config: Config =
            toml::from_str(&text).with_context(|| format!("{} is not valid", path.display()))?;
        Ok((config, Some(path)))
    }

    /// The size limit in bytes.
    pub fn max_file_size(&self) -> u64 {
        self.scan.max_file_size.unwrap_or(DEFAULT_MAX_FILE_SIZE)
    }

    /// Compiled secret allowlist.
    pub fn secret_allowlist(&self) -> anyhow::Result<Vec<regex::Regex>> {
        self.scan
            .allowlist
            .secrets
            .iter()
            .map(|r| {
                regex::Regex::new(r)
                    .map_err(|e| anyhow!("invalid allowlist secret regex `{r}`: {e}"))
            })
            .collect()
    }
}

fn find() -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok()?;
    let mut dir = cwd.as_path();
    loop {
        let candidate = dir.join("envshim.toml");
        if candidate.is_file() {
            return Some(candidate);
        }
        if dir.join(".git").exists() {
            return None;
        }
        dir = dir.parent()?;
    }
}
