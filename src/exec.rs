//! Running a command with the secrets (DESIGN §3 `exec`): which variables to set and
//! remove for a scope, and replacing envshim with the command.

use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Command;

use zeroize::Zeroizing;

use crate::exit::{Exit, ExitError};
use crate::secrets::dotenv::{Document, Scope};

/// Which variables `exec` injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScopeChoice {
    /// Runtime variables only (deploy variables are removed).
    Runtime,
    /// Deploy variables only.
    Deploy,
    /// Both.
    All,
}

impl ScopeChoice {
    /// Whether variables of `scope` are injected.
    pub fn includes(self, scope: Scope) -> bool {
        match self {
            ScopeChoice::Runtime => scope == Scope::Runtime,
            ScopeChoice::Deploy => scope == Scope::Deploy,
            ScopeChoice::All => true,
        }
    }
}

/// Variables that change how programs are found, loaded or interpreted. age does not
/// authenticate who wrote `.env.secrets` (anyone with the public recipients can), so
/// `exec` sets one of these only when the reviewed example file declares it (DESIGN §1).
/// A trailing `*` matches any name with that prefix. SECURITY.md lists them.
pub const LOADER_VARIABLES: &[&str] = &[
    // The dynamic loaders (glibc, musl, macOS) and glibc's own.
    "LD_*",
    "DYLD_*",
    "GCONV_PATH",
    "GLIBC_TUNABLES",
    "LOCPATH",
    "NLSPATH",
    "MALLOC_*",
    // Where commands are found, and what shells run at start-up.
    "PATH",
    "BASH_ENV",
    "ENV",
    "BASH_FUNC_*",
    "SHELLOPTS",
    "BASHOPTS",
    "IFS",
    "PS4",
    "PROMPT_COMMAND",
    "ZDOTDIR",
    // Interpreters' options and module paths.
    "NODE_OPTIONS",
    "NODE_PATH",
    "PYTHONPATH",
    "PYTHONSTARTUP",
    "PYTHONHOME",
    "PYTHONWARNINGS",
    "PYTHONINSPECT",
    "PERL5OPT",
    "PERL5LIB",
    "PERLLIB",
    "PERL5DB",
    "RUBYOPT",
    "RUBYLIB",
    "JAVA_TOOL_OPTIONS",
    "_JAVA_OPTIONS",
    "JDK_JAVA_OPTIONS",
    "CLASSPATH",
    "PHPRC",
    "PHP_INI_SCAN_DIR",
    "LUA_INIT",
    "LUA_PATH",
    "LUA_CPATH",
    "TCLLIBPATH",
    "R_PROFILE",
    "R_PROFILE_USER",
    // Programs that tools start on the user's behalf.
    "EDITOR",
    "VISUAL",
    "PAGER",
    "GIT_PAGER",
    "LESSOPEN",
    "LESSCLOSE",
    "GIT_SSH",
    "GIT_SSH_COMMAND",
    "GIT_ASKPASS",
    "SSH_ASKPASS",
    "GIT_EXEC_PATH",
    "GIT_EXTERNAL_DIFF",
    "GIT_CONFIG*",
    "GIT_TEMPLATE_DIR",
    // envshim's own identity: the key that opens every scope.
    "ENVSHIM_AGE_KEY",
    "ENVSHIM_IDENTITY",
];

/// True when `key` is in [`LOADER_VARIABLES`].
pub fn is_loader_variable(key: &str) -> bool {
    LOADER_VARIABLES
        .iter()
        .any(|pattern| match pattern.strip_suffix('*') {
            Some(prefix) => key.starts_with(prefix),
            None => key == *pattern,
        })
}

/// The environment changes for one run.
#[derive(Default)]
pub struct Plan {
    /// Variables to set, in file order.
    pub set: Vec<(String, Zeroizing<String>)>,
    /// Inherited variables to remove (deploy variables in a runtime run).
    pub remove: Vec<String>,
    /// Required variables (from the example file) that nothing provides.
    pub missing: Vec<String>,
    /// Keys the secrets file defines that the example does not declare (all scopes).
    pub undeclared: Vec<String>,
    /// Undeclared [`LOADER_VARIABLES`] this run would set; `exec` refuses to run.
    pub refused: Vec<String>,
    /// Identity variables handed on deliberately (`--pass-identity`).
    pub pass: Vec<(&'static str, OsString)>,
}

/// Works out what to set and remove. `inherited` answers whether the parent
/// environment has a variable.
pub fn plan(
    secrets: &Document,
    example: Option<&Document>,
    scope: ScopeChoice,
    no_override: bool,
    inherited: impl Fn(&str) -> bool,
) -> Plan {
    let mut plan = Plan::default();
    // Look-ups by key through sets: a file of 100,000 keys must not take n² steps.
    let declared_keys: HashSet<&str> = example
        .iter()
        .flat_map(|e| e.entries())
        .map(|e| e.key.as_str())
        .collect();
    let declared = |key: &str| declared_keys.contains(key);
    let file_scope: std::collections::HashMap<&str, Scope> = secrets
        .entries()
        .map(|e| (e.key.as_str(), e.scope))
        .collect();
    for entry in secrets.entries() {
        if !declared(&entry.key) {
            plan.undeclared.push(entry.key.clone());
        }
        if scope.includes(entry.scope) {
            if is_loader_variable(&entry.key) && !declared(&entry.key) {
                plan.refused.push(entry.key.clone());
            } else if !(no_override && inherited(&entry.key)) {
                plan.set.push((entry.key.clone(), entry.value.clone()));
            }
        } else if scope == ScopeChoice::Runtime {
            plan.remove.push(entry.key.clone());
        }
    }
    if let Some(example) = example {
        let mut removed: HashSet<String> = plan.remove.iter().cloned().collect();
        for entry in example.entries() {
            let declared_deploy = entry.scope == Scope::Deploy
                || file_scope.get(entry.key.as_str()) == Some(&Scope::Deploy);
            if scope == ScopeChoice::Runtime && declared_deploy {
                if removed.insert(entry.key.clone()) {
                    plan.remove.push(entry.key.clone());
                }
                continue;
            }
            if !scope.includes(entry.scope) || entry.optional {
                continue;
            }
            if !file_scope.contains_key(entry.key.as_str()) && !inherited(&entry.key) {
                plan.missing.push(entry.key.clone());
            }
        }
    }
    plan
}

/// Replaces this process with `program` (Unix `execvp`): same PID, and the command's
/// own signals and exit status. Returns only on failure.
#[cfg(unix)]
pub fn run(program: &OsStr, args: &[OsString], plan: &Plan) -> anyhow::Error {
    use std::os::unix::process::CommandExt;
    let mut command = build(program, args, plan);
    let err = command.exec();
    launch_error(program, &err, plan)
}

/// Runs `program` and exits with its status; Ctrl-C is left to the child.
#[cfg(not(unix))]
pub fn run(program: &OsStr, args: &[OsString], plan: &Plan) -> anyhow::Error {
    // The console delivers Ctrl-C to the child too; envshim just waits for it.
    let _ = ctrlc::set_handler(|| {});
    let mut command = build(program, args, plan);
    match command.status() {
        Ok(status) => std::process::exit(status.code().unwrap_or(1)),
        Err(err) => launch_error(program, &err, plan),
    }
}

fn build(program: &OsStr, args: &[OsString], plan: &Plan) -> Command {
    let mut command = Command::new(program);
    command.args(args);
    for key in &plan.remove {
        command.env_remove(key);
    }
    for (key, value) in &plan.set {
        command.env(key, value.as_str());
    }
    for (key, value) in &plan.pass {
        command.env(key, value);
    }
    command
}

/// The error for a command that could not be started, with the shell's exit status: 127
/// when it (or the interpreter its `#!` line names) is not found, 126 when it cannot be
/// executed. Only the command file's first line is read, to name the interpreter.
fn launch_error(program: &OsStr, err: &std::io::Error, plan: &Plan) -> anyhow::Error {
    let name = program.to_string_lossy();
    let file = locate(program, plan);
    let (exit, message) = match err.kind() {
        std::io::ErrorKind::NotFound => match file.as_deref().map(interpreter) {
            Some(Some(interpreter)) => {
                (Exit::CommandNotFound, bad_interpreter(&name, &interpreter))
            }
            Some(None) => (
                Exit::CommandNotFound,
                format!(
                    "cannot run {name}: the file exists but the program that loads it was not \
                     found (a binary built for another system or C library?)"
                ),
            ),
            None => (Exit::CommandNotFound, format!("{name}: command not found")),
        },
        std::io::ErrorKind::PermissionDenied if file.as_deref().is_some_and(Path::is_dir) => (
            Exit::CannotExecute,
            format!("cannot run {name}: it is a directory"),
        ),
        std::io::ErrorKind::PermissionDenied => (
            Exit::CannotExecute,
            format!("{name}: permission denied (is it executable?)"),
        ),
        _ => (
            Exit::CannotExecute,
            format!("{name}: cannot execute: {err}"),
        ),
    };
    ExitError { exit, message }.into()
}

/// The file `execvp` would have run: `program` itself when it has a `/`, else the first
/// match in the command's `PATH` (the file's, when it sets one).
fn locate(program: &OsStr, plan: &Plan) -> Option<PathBuf> {
    let path = Path::new(program);
    if program.as_encoded_bytes().contains(&b'/') {
        return path.exists().then(|| path.to_path_buf());
    }
    let search = match plan.set.iter().find(|(key, _)| key == "PATH") {
        Some((_, value)) => OsString::from(value.as_str()),
        None => std::env::var_os("PATH")?,
    };
    std::env::split_paths(&search)
        .map(|dir| dir.join(path))
        .find(|candidate| candidate.exists())
}

/// The interpreter named on `file`'s `#!` line, if it has one.
fn interpreter(file: &Path) -> Option<String> {
    use std::io::Read;
    // The kernel reads at most this much of the line.
    let mut head = [0u8; 256];
    let mut reader = std::fs::File::open(file).ok()?.take(head.len() as u64);
    let mut len = 0;
    while let Ok(n @ 1..) = reader.read(&mut head[len..]) {
        len += n;
    }
    let line = head[..len].strip_prefix(b"#!")?;
    let line = line.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let word = line
        .trim_start_matches([' ', '\t'])
        .split([' ', '\t'])
        .next()
        .unwrap_or_default();
    Some(word.to_string())
}

fn bad_interpreter(name: &str, interpreter: &str) -> String {
    let shown = interpreter.escape_debug();
    if Path::new(interpreter).exists() {
        return format!(
            "cannot run {name}: its interpreter `{shown}` (from the #! line) exists but could \
             not be started"
        );
    }
    match interpreter.strip_suffix('\r') {
        Some(meant) => format!(
            "cannot run {name}: its interpreter `{shown}` (from the #! line) was not found. \
             The line ends in a carriage return (Windows line endings): convert the file, \
             e.g. `sed -i 's/\\r$//' {name}`, and it will run {}",
            meant.escape_debug()
        ),
        None => {
            format!("cannot run {name}: its interpreter `{shown}` (from the #! line) was not found")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::dotenv::parse;

    fn keys(v: &[(String, Zeroizing<String>)]) -> Vec<&str> {
        v.iter().map(|(k, _)| k.as_str()).collect()
    }

    #[test]
    fn runtime_removes_deploy_and_reports_missing() {
        let secrets = parse("A=1\n# [deploy]\nD=2\n").unwrap();
        let example = parse("A=\nR=\nO= # optional\n# [deploy]\nD=\nE=\n").unwrap();
        let p = plan(
            &secrets,
            Some(&example),
            ScopeChoice::Runtime,
            false,
            |_| false,
        );
        assert_eq!(keys(&p.set), vec!["A"]);
        assert_eq!(p.remove, vec!["D", "E"]);
        assert_eq!(p.missing, vec!["R"]);
        let p = plan(&secrets, Some(&example), ScopeChoice::Deploy, false, |_| {
            false
        });
        assert_eq!(keys(&p.set), vec!["D"]);
        assert!(p.remove.is_empty());
        assert_eq!(p.missing, vec!["E"]);
        let p = plan(&secrets, Some(&example), ScopeChoice::All, false, |k| {
            k == "R"
        });
        assert_eq!(keys(&p.set), vec!["A", "D"]);
        assert_eq!(p.missing, vec!["E"]);
    }

    #[test]
    fn undeclared_keys_are_named_and_undeclared_loader_variables_refused() {
        let secrets =
            parse("A=1\nLD_PRELOAD=/tmp/x.so\nPATH=/tmp\nEXTRA=2\n# [deploy]\nBASH_ENV=/x\n")
                .unwrap();
        let example = parse("A=\nPATH=\n# [deploy]\n").unwrap();
        let p = plan(
            &secrets,
            Some(&example),
            ScopeChoice::Runtime,
            false,
            |_| false,
        );
        assert_eq!(keys(&p.set), vec!["A", "PATH", "EXTRA"]);
        assert_eq!(p.refused, vec!["LD_PRELOAD"]);
        assert_eq!(p.undeclared, vec!["LD_PRELOAD", "EXTRA", "BASH_ENV"]);
        let p = plan(&secrets, None, ScopeChoice::All, false, |_| false);
        assert_eq!(p.refused, vec!["LD_PRELOAD", "PATH", "BASH_ENV"]);
        assert!(is_loader_variable("DYLD_INSERT_LIBRARIES"));
        assert!(is_loader_variable("GIT_CONFIG_COUNT"));
        assert!(!is_loader_variable("DATABASE_URL"));
        assert!(!is_loader_variable("PATHS"));
    }

    #[test]
    fn no_override_keeps_inherited_values() {
        let secrets = parse("A=1\nB=2\n").unwrap();
        let p = plan(&secrets, None, ScopeChoice::Runtime, true, |k| k == "A");
        assert_eq!(keys(&p.set), vec!["B"]);
    }
}
