//! Test harness: a temporary project (a real git repository) with its own HOME, the real
//! envshim binary, and the real `age` CLI.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The envshim binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_envshim");

/// A temporary project directory and home directory.
pub struct Project {
    _tmp: tempfile::TempDir,
    /// The git repository the commands run in.
    pub root: PathBuf,
    /// HOME for every command run here.
    pub home: PathBuf,
}

/// A finished command, printed in full when an assertion fails.
pub struct Run {
    /// Exit code (`-1` if killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Asserts success and returns self.
    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(self.code, 0, "expected success:\n{self:?}");
        self
    }

    /// Asserts the exit code and returns self.
    #[track_caller]
    pub fn code(self, code: i32) -> Self {
        assert_eq!(self.code, code, "expected exit {code}:\n{self:?}");
        self
    }

    /// Asserts that stderr contains every fragment.
    #[track_caller]
    pub fn stderr_has(self, fragments: &[&str]) -> Self {
        for fragment in fragments {
            assert!(
                self.stderr.contains(fragment),
                "stderr lacks {fragment:?}:\n{self:?}"
            );
        }
        self
    }

    /// Asserts that neither stream contains `secret`.
    #[track_caller]
    pub fn never_shows(self, secret: &str) -> Self {
        assert!(
            !self.stdout.contains(secret) && !self.stderr.contains(secret),
            "output shows {secret:?}:\n{self:?}"
        );
        self
    }

    /// Asserts the shape of an error: one short message, never a panic or backtrace.
    #[track_caller]
    pub fn clean_error(self) -> Self {
        assert!(self.stderr.starts_with("envshim: "), "{self:?}");
        assert!(
            self.stderr.lines().count() <= 2,
            "error is too long:\n{self:?}"
        );
        assert!(!self.stderr.contains("panicked"), "{self:?}");
        assert!(!self.stderr.contains("RUST_BACKTRACE"), "{self:?}");
        self
    }
}

impl Project {
    /// A fresh git repository with an empty HOME beside it.
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().expect("temp dir");
        let root = tmp.path().join("repo");
        let home = tmp.path().join("home");
        fs::create_dir_all(&root).unwrap();
        fs::create_dir_all(&home).unwrap();
        let status = Command::new("git")
            .args(["init", "-q"])
            .current_dir(&root)
            .status()
            .expect("git");
        assert!(status.success());
        Project {
            _tmp: tmp,
            root,
            home,
        }
    }

    /// An envshim command with a clean environment (no identity variables, this HOME).
    pub fn envshim(&self) -> Command {
        let mut cmd = Command::new(BIN);
        self.configure(&mut cmd);
        cmd
    }

    /// `sh -c SCRIPT` with envshim's test environment; the script sees the binary as `$0`.
    pub fn shell(&self, script: &str) -> Command {
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(script).arg(BIN);
        self.configure(&mut cmd);
        cmd
    }

    fn configure(&self, cmd: &mut Command) {
        cmd.current_dir(&self.root)
            .env("HOME", &self.home)
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("ENVSHIM_AGE_KEY")
            .env_remove("ENVSHIM_IDENTITY")
            .env_remove("ENVSHIM_FILE")
            .env_remove("NO_COLOR")
            .env("PINENTRY_PROGRAM", "/nonexistent/pinentry")
            .stdin(Stdio::null());
    }

    /// Runs envshim with `args` and returns the result.
    pub fn run<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.envshim()
            .args(args)
            .output()
            .expect("run envshim")
            .into()
    }

    /// Path inside the repository.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Writes a file inside the repository (creating directories).
    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(rel);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).unwrap();
        }
        fs::write(&path, contents).unwrap();
        path
    }

    /// Generates an identity with the real `age-keygen` at `path` (mode 0600) and
    /// returns its public key.
    pub fn age_keygen(&self, path: &Path) -> String {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).unwrap();
        }
        let out = Command::new("age-keygen")
            .arg("-o")
            .arg(path)
            .output()
            .expect("age-keygen (Debian package `age`)");
        assert!(out.status.success(), "{:?}", out);
        set_mode(path, 0o600);
        public_key_of(path)
    }

    /// Sets up `.env.secrets` (armored, via the real `age` CLI) holding `plaintext`,
    /// readable by the default identity, and returns that identity's public key.
    pub fn secrets(&self, plaintext: &str) -> String {
        let public = self.default_identity();
        self.write(".env.secrets.recipients", format!("{public}\n"));
        let ciphertext = age_encrypt(&self.path(".env.secrets.recipients"), plaintext, true);
        self.write(".env.secrets", ciphertext);
        public
    }

    /// The default identity (`~/.config/envshim/identity.txt`), created if missing.
    pub fn default_identity(&self) -> String {
        let path = self.default_identity_path();
        if path.exists() {
            public_key_of(&path)
        } else {
            self.age_keygen(&path)
        }
    }

    /// Where envshim looks for the default identity under this HOME.
    pub fn default_identity_path(&self) -> PathBuf {
        self.home.join(".config/envshim/identity.txt")
    }

    /// Every file under the repository (except `.git`) with its contents, to show
    /// that a failed command wrote nothing.
    pub fn snapshot(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut files = Vec::new();
        let mut dirs = vec![self.root.clone(), self.home.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.file_name() == Some(OsStr::new(".git")) {
                    continue;
                }
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    let contents = fs::read(&path).unwrap_or_default();
                    files.push((path, contents));
                }
            }
        }
        files.sort();
        files
    }
}

/// The public key of an age identity file, by the real `age-keygen -y`.
pub fn public_key_of(path: &Path) -> String {
    let out = Command::new("age-keygen")
        .arg("-y")
        .arg(path)
        .output()
        .expect("age-keygen");
    assert!(out.status.success(), "{:?}", out);
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Encrypts with the real `age` CLI to a recipients file.
pub fn age_encrypt(recipients: &Path, plaintext: &str, armor: bool) -> Vec<u8> {
    use std::io::Write;
    let mut cmd = Command::new("age");
    if armor {
        cmd.arg("-a");
    }
    let mut child = cmd
        .arg("-R")
        .arg(recipients)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("age (Debian package `age`)");
    // Written from another thread: a large input would otherwise fill age's output
    // pipe while this thread is still writing, and both would wait forever.
    let mut stdin = child.stdin.take().unwrap();
    let input = plaintext.as_bytes().to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success());
    out.stdout
}

/// Decrypts with the real `age` CLI; returns the run.
pub fn age_decrypt(identity: &Path, file: &Path) -> Run {
    Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(identity)
        .arg(file)
        .output()
        .expect("age")
        .into()
}

/// The user id the tests run as, by `id -u`.
pub fn uid() -> String {
    let out = Command::new("id").arg("-u").output().expect("id");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// True when the tests run as root (who may mount, and may read any process's memory).
pub fn is_root() -> bool {
    uid() == "0"
}

/// Sets a file's mode.
pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// A file's mode bits.
pub fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Runs `cmd` on a pseudo-terminal, answering each prompt in turn.
pub fn on_terminal(cmd: &mut Command, answers: &[(&str, &str)]) -> Run {
    let driver = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/pty_answer.py");
    let mut wrapped = Command::new("python3");
    wrapped.arg(driver);
    for (prompt, answer) in answers {
        wrapped.arg(prompt).arg(answer);
    }
    wrapped
        .arg("--")
        .arg(cmd.get_program())
        .args(cmd.get_args());
    if let Some(dir) = cmd.get_current_dir() {
        wrapped.current_dir(dir);
    }
    for (key, value) in cmd.get_envs() {
        match value {
            Some(v) => wrapped.env(key, v),
            None => wrapped.env_remove(key),
        };
    }
    wrapped
        .stdin(Stdio::null())
        .output()
        .expect("python3")
        .into()
}

impl Project {
    /// A project set up with `envshim init`.
    pub fn initialized() -> Self {
        let p = Project::new();
        p.run(["-q", "init"]).ok();
        p
    }

    /// Runs envshim with `args`, feeding `input` on standard input.
    pub fn run_with_input<I, S>(&self, args: I, input: &[u8]) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        use std::io::Write;
        let mut child = self
            .envshim()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run envshim");
        // A command that fails before reading its input closes the pipe early; that is
        // its answer, not a harness error.
        match child.stdin.take().unwrap().write_all(input) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            other => other.unwrap(),
        }
        child.wait_with_output().unwrap().into()
    }

    /// `envshim set NAME` with the value on standard input (plus `extra` arguments).
    pub fn set(&self, name: &str, value: &str, extra: &[&str]) -> Run {
        let mut args = vec!["set", name];
        args.extend_from_slice(extra);
        self.run_with_input(args, value.as_bytes())
    }

    /// The decrypted secrets, by the real `age` CLI.
    pub fn plaintext(&self) -> String {
        age_decrypt(&self.default_identity_path(), &self.path(".env.secrets"))
            .ok()
            .stdout
    }

    /// A file's text.
    pub fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path(rel)).unwrap()
    }
}

/// A fake GitHub classic token (generated; not a real key), assembled at run time so that
/// the test sources do not look like a leak to a scanner.
pub fn github_token() -> String {
    format!("{}{}", "ghp_", "Zq8rT1mWc4Lp0Vx7Hn2Kd9Bf6Sj3Ya5Ge8Ru")
}

/// A fake Stripe live secret key.
pub fn stripe_key() -> String {
    format!("{}{}", "sk_live_", "51Hq7TzW2mK9pLx4Nv8Rc3Bd6Fj1Sg5Yt0Ua")
}

/// Runs git in `dir` with this project's HOME, a fixed author and committer, and
/// `ENVSHIM` (the binary the pre-commit hook calls) set to `envshim`.
pub fn git_with(p: &Project, dir: &Path, envshim: &str, args: &[&str]) -> Run {
    Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("ENVSHIM", envshim)
        .env("HOME", &p.home)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
        .output()
        .unwrap()
        .into()
}

/// Runs git in the repository, its hook calling the binary under test.
pub fn git(p: &Project, args: &[&str]) -> Run {
    git_with(p, &p.root, BIN, args)
}

/// The commit id of HEAD.
pub fn head(p: &Project) -> String {
    git(p, &["rev-parse", "HEAD"])
        .ok()
        .stdout
        .trim()
        .to_string()
}

/// Stages everything and commits it without the hook; returns the new commit's id.
pub fn commit_all(p: &Project, message: &str) -> String {
    git(p, &["add", "-A"]).ok();
    git(p, &["commit", "-q", "--no-verify", "-m", message]).ok();
    head(p)
}

/// Two sides ready to merge: writes `on_branch` (path, contents) on a new branch
/// `branch` and commits it, goes back to the branch it left and commits `here` there.
/// Returns the commit made on `branch`.
pub fn diverge(
    p: &Project,
    branch: &str,
    on_branch: &[(&str, &str)],
    here: &[(&str, &str)],
) -> String {
    git(p, &["checkout", "-q", "-b", branch]).ok();
    for (path, contents) in on_branch {
        p.write(path, contents);
    }
    let side = commit_all(p, branch);
    git(p, &["checkout", "-q", "-"]).ok();
    for (path, contents) in here {
        p.write(path, contents);
    }
    commit_all(p, "beside");
    side
}

impl Run {
    /// The run's standard output parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {self:?}"))
    }
}

/// (path, line, commit) of each finding of a `--format json` run, sorted; the commit
/// is empty where there is none.
pub fn path_line_commit(r: &Run) -> Vec<(String, usize, String)> {
    let mut found: Vec<(String, usize, String)> = r.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap() as usize,
                f["commit"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    found.sort();
    found
}

/// The artifact URI of each result of a SARIF document, in order.
pub fn sarif_uris(doc: &serde_json::Value) -> Vec<&str> {
    doc["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
        })
        .collect()
}
