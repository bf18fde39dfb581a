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
    "MANPAGER",
    "SYSTEMD_PAGER",
    "BROWSER",
    "SHELL",
    "SSH_ASKPASS",
    "SUDO_ASKPASS",
    "LESSKEY*",
    "TERMINFO*",
    "FPATH",
    "CDPATH",
    // Git reads commands, hooks and configuration from many variables.
    "GIT_*",
    // Where programs read their configuration (dotfiles run commands: .gitconfig's
    // fsmonitor, .npmrc's script-shell, …).
    "HOME",
    "XDG_CONFIG_HOME",
    "XDG_CONFIG_DIRS",
    // Libraries and toolchains that load code named by a variable.
    "OPENSSL_CONF",
    "OPENSSL_ENGINES",
    "OPENSSL_MODULES",
    "PYTHONUSERBASE",
    "PYTHONPYCACHEPREFIX",
    "PYTHONBREAKPOINT",
    "PYTHONEXECUTABLE",
    "BUNDLE_*",
    "GEM_HOME",
    "GEM_PATH",
    "JAVA_HOME",
    "JAVA_OPTS",
    "MAVEN_OPTS",
    "GRADLE_OPTS",
    "NPM_CONFIG_*",
    "YARN_*",
    "CARGO_*",
    "RUSTC",
    "RUSTC_WRAPPER",
    "RUSTFLAGS",
    "RUSTDOCFLAGS",
    "GOFLAGS",
    "GOTOOLCHAIN",
    "CC",
    "CXX",
    "LDFLAGS",
    "CFLAGS",
    // Whom TLS trusts and where traffic goes: the requests that carry the secrets.
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "CURL_CA_BUNDLE",
    "REQUESTS_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "NODE_TLS_REJECT_UNAUTHORIZED",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "HOSTALIASES",
    "RES_OPTIONS",
    "LOCALDOMAIN",
    // envshim's own identity: the key that opens every scope.
    "ENVSHIM_AGE_KEY",
    "ENVSHIM_IDENTITY",
];

/// True when `key` is in [`LOADER_VARIABLES`], compared without regard to ASCII case
/// (Windows' environment is case-insensitive, and `npm_config_*` is read in both).
pub fn is_loader_variable(key: &str) -> bool {
    LOADER_VARIABLES
        .iter()
        .any(|pattern| match pattern.strip_suffix('*') {
            Some(prefix) => {
                key.len() >= prefix.len()
                    && key.is_char_boundary(prefix.len())
                    && key[..prefix.len()].eq_ignore_ascii_case(prefix)
            }
            None => key.eq_ignore_ascii_case(pattern),
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
    /// Keys of this run's scope that the example does not declare in this scope: not set
    /// (unless `--allow-undeclared`), and named. Empty when there is no example.
    pub undeclared: Vec<String>,
    /// Keys set although nothing reviewed them: there is no example file at all.
    pub unreviewed: Vec<String>,
    /// Undeclared [`LOADER_VARIABLES`] this run would set; `exec` refuses to run.
    pub refused: Vec<String>,
    /// Runtime variables whose value would carry a deploy value into a runtime process,
    /// each with the deploy variable its definition refers to (empty when only the
    /// check on values found it).
    pub deploy_references: Vec<(String, String)>,
    /// Identity variables handed on deliberately (`--pass-identity`).
    pub pass: Vec<(&'static str, OsString)>,
}

/// How `exec` treats the keys the example does not declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Undeclared {
    /// Not set, and named (the default).
    #[default]
    Skip,
    /// Set all the same (`--allow-undeclared`); loader variables are still refused.
    Allow,
}

/// Works out what to set and remove. `inherited` answers whether the parent
/// environment has a variable. For a runtime run of a file with references, it expands
/// the file a second time with stand-ins in this process's environment (see
/// [`crate::secrets::dotenv::keys_depending_on`]): call it while there is one thread.
///
/// The example file is the reviewed statement of which keys the secrets file holds and
/// in which scope (DESIGN §1): anyone with the public recipients can write a valid
/// secrets file, so a key the example does not declare in this scope is not set, and a
/// loader variable it does not declare is refused. Without an example nothing was
/// reviewed: keys are set and named, loader variables still refused.
pub fn plan(
    secrets: &Document,
    example: Option<&Document>,
    scope: ScopeChoice,
    no_override: bool,
    undeclared: Undeclared,
    inherited: impl Fn(&str) -> bool,
) -> Plan {
    use std::collections::HashMap;
    let mut plan = Plan::default();
    // Look-ups by key through maps: a file of 100,000 keys must not take n² steps.
    let declared: Option<HashMap<&str, Scope>> = example.map(|e| {
        e.entries()
            .map(|entry| (entry.key.as_str(), entry.scope))
            .collect()
    });
    let declared_in = |key: &str, scope: Scope| {
        declared
            .as_ref()
            .is_some_and(|d| d.get(key) == Some(&scope))
    };
    // Deploy variables: the file's and the example's.
    let deploy: HashSet<&str> = secrets
        .in_scope(Scope::Deploy)
        .map(|e| e.key.as_str())
        .chain(
            example
                .iter()
                .flat_map(|e| e.in_scope(Scope::Deploy))
                .map(|e| e.key.as_str()),
        )
        .collect();
    // Keys whose definition leads to a deploy value: a reference to a deploy name, or
    // to a key that itself leads to one (an undeclared hop is still expanded by
    // dotenvy), in file order, as dotenvy expands.
    let mut tainted: std::collections::HashMap<&str, String> = std::collections::HashMap::new();
    for entry in secrets.entries() {
        let via = crate::secrets::dotenv::references(&entry.raw)
            .into_iter()
            .find_map(|r| {
                if deploy.contains(r.name.as_str()) {
                    Some(r.name)
                } else {
                    tainted.get(r.name.as_str()).cloned()
                }
            });
        if let Some(name) = via {
            tainted.insert(entry.key.as_str(), name);
        }
    }
    let mut removed: HashSet<&str> = HashSet::new();
    for entry in secrets.entries() {
        let key = entry.key.as_str();
        let reviewed = declared_in(key, entry.scope);
        if scope.includes(entry.scope) {
            if is_loader_variable(key) && !reviewed {
                plan.refused.push(entry.key.clone());
                continue;
            }
            let elsewhere = declared
                .as_ref()
                .is_some_and(|d| d.get(key).is_some_and(|s| *s != entry.scope));
            if declared.is_none() {
                plan.unreviewed.push(entry.key.clone());
            } else if !reviewed {
                plan.undeclared.push(entry.key.clone());
                // A key the example puts in another scope is never set here: the
                // example's scope is the reviewed one.
                if undeclared == Undeclared::Skip || elsewhere {
                    continue;
                }
            }
            if scope == ScopeChoice::Runtime {
                if let Some(name) = tainted.get(key) {
                    plan.deploy_references
                        .push((entry.key.clone(), name.clone()));
                    continue;
                }
            }
            if !(no_override && inherited(key)) {
                plan.set.push((entry.key.clone(), entry.value.clone()));
            }
        } else if scope == ScopeChoice::Runtime {
            // A deploy key of the file is removed from a runtime run, but a forged file
            // must not be able to remove PATH, a proxy exception or a CA bundle: with an
            // example, only keys it declares deploy; without, never a loader variable.
            let remove = match &declared {
                Some(_) => declared_in(key, Scope::Deploy),
                None => !is_loader_variable(key),
            };
            if remove && removed.insert(key) {
                plan.remove.push(entry.key.clone());
            }
        }
    }
    if let Some(example) = example {
        let file_scope: HashMap<&str, Scope> = secrets
            .entries()
            .map(|e| (e.key.as_str(), e.scope))
            .collect();
        for entry in example.entries() {
            let key = entry.key.as_str();
            if scope == ScopeChoice::Runtime && entry.scope == Scope::Deploy {
                if removed.insert(key) {
                    plan.remove.push(entry.key.clone());
                }
                continue;
            }
            if !scope.includes(entry.scope) || entry.optional {
                continue;
            }
            let provided = file_scope.get(key) == Some(&entry.scope)
                || (undeclared == Undeclared::Allow && file_scope.contains_key(key));
            if !provided && !inherited(key) {
                plan.missing.push(entry.key.clone());
            }
        }
    }
    // Behind the check on references, one on values: expand the file again with every
    // deploy variable replaced, and see which runtime value changes. Only a file with a
    // `$` can expand anything.
    if scope == ScopeChoice::Runtime
        && plan.deploy_references.is_empty()
        && secrets.entries().any(|e| e.raw.contains('$'))
    {
        let dependent = crate::secrets::dotenv::keys_depending_on(secrets, &deploy);
        if let Some((key, _)) = plan.set.iter().find(|(k, _)| dependent.contains(k)) {
            plan.deploy_references.push((key.clone(), String::new()));
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
        let run = |scope, inherited: &dyn Fn(&str) -> bool| {
            plan(
                &secrets,
                Some(&example),
                scope,
                false,
                Undeclared::Skip,
                inherited,
            )
        };
        let p = run(ScopeChoice::Runtime, &|_| false);
        assert_eq!(keys(&p.set), vec!["A"]);
        assert_eq!(p.remove, vec!["D", "E"]);
        assert_eq!(p.missing, vec!["R"]);
        let p = run(ScopeChoice::Deploy, &|_| false);
        assert_eq!(keys(&p.set), vec!["D"]);
        assert!(p.remove.is_empty());
        assert_eq!(p.missing, vec!["E"]);
        let p = run(ScopeChoice::All, &|k| k == "R");
        assert_eq!(keys(&p.set), vec!["A", "D"]);
        assert_eq!(p.missing, vec!["E"]);
    }

    #[test]
    fn undeclared_keys_are_not_set_and_undeclared_loader_variables_refused() {
        let secrets = parse(
            "A=1\nLD_PRELOAD=/tmp/x.so\nPATH=/tmp\nEXTRA=2\n# [deploy]\nBASH_ENV=/x\nOTHER_DEPLOY=x\n",
        )
        .unwrap();
        let example = parse("A=\nPATH=\n# [deploy]\n").unwrap();
        let p = plan(
            &secrets,
            Some(&example),
            ScopeChoice::Runtime,
            false,
            Undeclared::Skip,
            |_| false,
        );
        assert_eq!(keys(&p.set), vec!["A", "PATH"]);
        assert_eq!(p.refused, vec!["LD_PRELOAD"]);
        assert_eq!(p.undeclared, vec!["EXTRA"]);
        // Deploy keys the example does not declare are not removed (a forged file could
        // otherwise remove NO_PROXY from a runtime run).
        assert!(p.remove.is_empty());
        let p = plan(
            &secrets,
            Some(&example),
            ScopeChoice::Runtime,
            false,
            Undeclared::Allow,
            |_| false,
        );
        assert_eq!(keys(&p.set), vec!["A", "PATH", "EXTRA"]);
        let p = plan(
            &secrets,
            None,
            ScopeChoice::All,
            false,
            Undeclared::Skip,
            |_| false,
        );
        assert_eq!(p.refused, vec!["LD_PRELOAD", "PATH", "BASH_ENV"]);
        assert_eq!(p.unreviewed, vec!["A", "EXTRA", "OTHER_DEPLOY"]);
        assert!(is_loader_variable("DYLD_INSERT_LIBRARIES"));
        assert!(is_loader_variable("GIT_CONFIG_COUNT"));
        assert!(is_loader_variable("npm_config_script_shell"));
        assert!(is_loader_variable("Path"));
        assert!(!is_loader_variable("DATABASE_URL"));
        assert!(!is_loader_variable("PATHS"));
    }

    #[test]
    fn the_example_scope_wins_and_runtime_values_cannot_refer_to_deploy_ones() {
        let secrets = parse(
            "A=1\nDEPLOY_TOKEN=forged\nURL=\"https://${DEPLOY_TOKEN}@x\"\n# [deploy]\nREAL=2\n",
        )
        .unwrap();
        let example = parse("A=\nURL=\n# [deploy]\nDEPLOY_TOKEN=\nREAL=\n").unwrap();
        let p = plan(
            &secrets,
            Some(&example),
            ScopeChoice::Runtime,
            false,
            Undeclared::Allow,
            |_| false,
        );
        assert_eq!(keys(&p.set), vec!["A"]);
        assert_eq!(p.undeclared, vec!["DEPLOY_TOKEN"]);
        assert_eq!(
            p.deploy_references,
            vec![("URL".to_string(), "DEPLOY_TOKEN".to_string())]
        );
        assert!(p.remove.contains(&"DEPLOY_TOKEN".to_string()));
    }

    #[test]
    fn no_override_keeps_inherited_values() {
        let secrets = parse("A=1\nB=2\n").unwrap();
        let p = plan(
            &secrets,
            None,
            ScopeChoice::Runtime,
            true,
            Undeclared::Skip,
            |k| k == "A",
        );
        assert_eq!(keys(&p.set), vec!["B"]);
    }
}
